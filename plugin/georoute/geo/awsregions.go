package geo

import "strings"

// AWSRegion is where an AWS region is: the city its data centres are near (AWS publishes the
// city or area of each region, not coordinates), its country and continent.
type AWSRegion struct {
	Point
	Country, Continent string
}

// awsRegions places every commercial, GovCloud and China region AWS lists.
var awsRegions = map[string]AWSRegion{
	"us-east-1":      {Point{38.94, -77.46}, "US", "NA"},  // N. Virginia (Ashburn)
	"us-east-2":      {Point{39.96, -83.00}, "US", "NA"},  // Ohio (Columbus)
	"us-west-1":      {Point{37.35, -121.96}, "US", "NA"}, // N. California (San Jose)
	"us-west-2":      {Point{45.84, -119.70}, "US", "NA"}, // Oregon (Boardman)
	"us-gov-east-1":  {Point{39.96, -83.00}, "US", "NA"},  // Ohio
	"us-gov-west-1":  {Point{45.84, -119.70}, "US", "NA"}, // Oregon
	"ca-central-1":   {Point{45.50, -73.57}, "CA", "NA"},  // Montreal
	"ca-west-1":      {Point{51.05, -114.07}, "CA", "NA"}, // Calgary
	"mx-central-1":   {Point{20.59, -100.39}, "MX", "NA"}, // Querétaro
	"sa-east-1":      {Point{-23.55, -46.63}, "BR", "SA"}, // São Paulo
	"eu-west-1":      {Point{53.35, -6.26}, "IE", "EU"},   // Ireland (Dublin)
	"eu-west-2":      {Point{51.51, -0.13}, "GB", "EU"},   // London
	"eu-west-3":      {Point{48.86, 2.35}, "FR", "EU"},    // Paris
	"eu-central-1":   {Point{50.11, 8.68}, "DE", "EU"},    // Frankfurt
	"eu-central-2":   {Point{47.37, 8.54}, "CH", "EU"},    // Zurich
	"eu-north-1":     {Point{59.33, 18.07}, "SE", "EU"},   // Stockholm
	"eu-south-1":     {Point{45.46, 9.19}, "IT", "EU"},    // Milan
	"eu-south-2":     {Point{41.65, -0.88}, "ES", "EU"},   // Spain (Aragón)
	"il-central-1":   {Point{32.09, 34.78}, "IL", "AS"},   // Tel Aviv
	"me-south-1":     {Point{26.07, 50.56}, "BH", "AS"},   // Bahrain
	"me-central-1":   {Point{24.45, 54.38}, "AE", "AS"},   // UAE (Abu Dhabi)
	"af-south-1":     {Point{-33.92, 18.42}, "ZA", "AF"},  // Cape Town
	"ap-south-1":     {Point{19.08, 72.88}, "IN", "AS"},   // Mumbai
	"ap-south-2":     {Point{17.39, 78.49}, "IN", "AS"},   // Hyderabad
	"ap-east-1":      {Point{22.32, 114.17}, "HK", "AS"},  // Hong Kong
	"ap-east-2":      {Point{25.03, 121.57}, "TW", "AS"},  // Taipei
	"ap-northeast-1": {Point{35.68, 139.69}, "JP", "AS"},  // Tokyo
	"ap-northeast-2": {Point{37.57, 126.98}, "KR", "AS"},  // Seoul
	"ap-northeast-3": {Point{34.69, 135.50}, "JP", "AS"},  // Osaka
	"ap-southeast-1": {Point{1.35, 103.82}, "SG", "AS"},   // Singapore
	"ap-southeast-2": {Point{-33.87, 151.21}, "AU", "OC"}, // Sydney
	"ap-southeast-3": {Point{-6.21, 106.85}, "ID", "AS"},  // Jakarta
	"ap-southeast-4": {Point{-37.81, 144.96}, "AU", "OC"}, // Melbourne
	"ap-southeast-5": {Point{3.14, 101.69}, "MY", "AS"},   // Malaysia (Kuala Lumpur)
	"ap-southeast-6": {Point{-36.85, 174.76}, "NZ", "OC"}, // New Zealand (Auckland)
	"ap-southeast-7": {Point{13.76, 100.50}, "TH", "AS"},  // Thailand (Bangkok)
	"cn-north-1":     {Point{39.90, 116.41}, "CN", "AS"},  // Beijing
	"cn-northwest-1": {Point{38.49, 106.23}, "CN", "AS"},  // Ningxia (Yinchuan)
}

// AWSRegionOf returns where the AWS region name is. A local zone group ("us-east-1-bos-1") is
// placed at its parent region.
func AWSRegionOf(name string) (AWSRegion, bool) {
	r, ok := awsRegions[name]
	if ok {
		return r, true
	}
	for parent, r := range awsRegions {
		if strings.HasPrefix(name, parent+"-") {
			return r, true
		}
	}
	return AWSRegion{}, false
}
