package geo

import "strings"

// SubdivisionCode returns the ISO 3166-2 subdivision code (without the country part) of a
// subdivision named name in country, or "" when this table does not know it. It covers the
// subdivisions Route 53 routes by (US states) and those of Canada and Australia, so that rules
// written with codes ("US-CA") match databases that give names ("California").
func SubdivisionCode(country, name string) string {
	if t := subdivisions[country]; t != nil {
		return t[strings.ToLower(name)]
	}
	return ""
}

var subdivisions = map[string]map[string]string{
	"US": table(
		"AL Alabama", "AK Alaska", "AZ Arizona", "AR Arkansas", "CA California", "CO Colorado",
		"CT Connecticut", "DE Delaware", "DC District of Columbia", "FL Florida", "GA Georgia",
		"HI Hawaii", "ID Idaho", "IL Illinois", "IN Indiana", "IA Iowa", "KS Kansas", "KY Kentucky",
		"LA Louisiana", "ME Maine", "MD Maryland", "MA Massachusetts", "MI Michigan", "MN Minnesota",
		"MS Mississippi", "MO Missouri", "MT Montana", "NE Nebraska", "NV Nevada",
		"NH New Hampshire", "NJ New Jersey", "NM New Mexico", "NY New York", "NC North Carolina",
		"ND North Dakota", "OH Ohio", "OK Oklahoma", "OR Oregon", "PA Pennsylvania",
		"RI Rhode Island", "SC South Carolina", "SD South Dakota", "TN Tennessee", "TX Texas",
		"UT Utah", "VT Vermont", "VA Virginia", "WA Washington", "WV West Virginia",
		"WI Wisconsin", "WY Wyoming",
	),
	"CA": table(
		"AB Alberta", "BC British Columbia", "MB Manitoba", "NB New Brunswick",
		"NL Newfoundland and Labrador", "NS Nova Scotia", "NT Northwest Territories", "NU Nunavut",
		"ON Ontario", "PE Prince Edward Island", "QC Quebec", "QC Québec", "SK Saskatchewan", "YT Yukon",
	),
	"AU": table(
		"ACT Australian Capital Territory", "NSW New South Wales", "NT Northern Territory",
		"QLD Queensland", "SA South Australia", "TAS Tasmania", "VIC Victoria", "WA Western Australia",
	),
}

func table(entries ...string) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		code, name, _ := strings.Cut(e, " ")
		m[strings.ToLower(name)] = code
	}
	return m
}
