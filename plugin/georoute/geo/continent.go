package geo

// Continent codes, as the GeoIP2 schema writes them.
const (
	Africa       = "AF"
	Antarctica   = "AN"
	Asia         = "AS"
	Europe       = "EU"
	NorthAmerica = "NA"
	Oceania      = "OC"
	SouthAmerica = "SA"
)

// ContinentOf returns the continent code of an ISO 3166-1 alpha-2 country code (upper case), or ""
// when the code is unknown. The assignment follows GeoNames, as MaxMind's databases do: Russia
// and Cyprus are in Europe, Turkey and the Caucasus in Asia, Central America and the Caribbean in
// North America. Databases without a continent field (DB-IP's flat schema) get it from here.
func ContinentOf(country string) string { return continentOf[country] }

// IsContinent reports whether code is one of the seven continent codes.
func IsContinent(code string) bool {
	switch code {
	case Africa, Antarctica, Asia, Europe, NorthAmerica, Oceania, SouthAmerica:
		return true
	}
	return false
}

// IsCountry reports whether code is an ISO 3166-1 alpha-2 country code this package knows.
func IsCountry(code string) bool { _, ok := continentOf[code]; return ok }

var continentOf = func() map[string]string {
	lists := map[string]string{
		Africa: "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY " +
			"MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
		Antarctica: "AQ BV GS HM TF",
		Asia: "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB " +
			"LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM TR TW UZ VN YE",
		Europe: "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT " +
			"JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
		NorthAmerica: "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ " +
			"MS MX NI PA PM PR SV SX TC TT US VC VG VI",
		Oceania:      "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM VU WF WS",
		SouthAmerica: "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
	}
	m := make(map[string]string, 256)
	for continent, list := range lists {
		for i := 0; i+2 <= len(list); i += 3 {
			m[list[i:i+2]] = continent
		}
	}
	return m
}()
