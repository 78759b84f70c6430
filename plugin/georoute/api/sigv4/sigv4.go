// Package sigv4 verifies AWS Signature Version 4 on incoming requests, as Route 53 does.
//
// Both forms are accepted: the Authorization header and presigned query strings (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature). The canonical
// request is built the way the AWS SDKs build it for every service but S3: the path as sent is
// percent-encoded once more (so "%2A" on the wire is signed as "%252A"), query parameters are sorted
// by encoded name then value, and the payload hash is X-Amz-Content-Sha256 when sent (which may be
// UNSIGNED-PAYLOAD), else the SHA-256 of the body.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Key is an access key pair; Zones, when not empty, are the zone origins (lower case, fully
// qualified, e.g. "example.net.") the key may change.
type Key struct {
	AccessKeyID string
	Secret      string
	Zones       []string
}

// Error is why a request is refused, with the HTTP status and the AWS error code to send.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Verifier checks requests signed for one service ("route53") in any region.
type Verifier struct {
	keys    map[string]*Key
	service string
	maxSkew time.Duration
	now     func() time.Time

	skewText string // maxSkew as AWS's messages put it: "15 min."

	mu          sync.RWMutex
	signingKeys map[scope][]byte // only scopes that have signed a valid request, so callers cannot grow it
}

// scope is what a signing key is derived from, besides the secret and the service.
type scope struct{ accessKeyID, date, region string }

const (
	algorithm        = "AWS4-HMAC-SHA256"
	terminator       = "aws4_request"
	amzDateLayout    = "20060102T150405Z"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	maxPresignExpiry = 604800 // seconds, a week, as AWS
	maxSigningKeys   = 4096   // a day's keys by region; the cache starts over when full
)

// NewVerifier returns a verifier of keys; maxSkew bounds the difference between the request's
// X-Amz-Date and the server's clock (AWS uses 15 minutes); now is the clock (nil: time.Now).
//
// Access key ids must be 16 to 128 characters of A-Z and 0-9, as AWS's are, and unique; secrets
// must not be empty. Zones are made lower case and fully qualified; "" and "." are refused.
func NewVerifier(keys []Key, service string, maxSkew time.Duration, now func() time.Time) (*Verifier, error) {
	if service == "" {
		return nil, fmt.Errorf("no service name")
	}
	if maxSkew <= 0 {
		return nil, fmt.Errorf("the maximum clock skew must be positive, not %v", maxSkew)
	}
	if now == nil {
		now = time.Now
	}
	v := &Verifier{keys: make(map[string]*Key, len(keys)), service: service, maxSkew: maxSkew, now: now, signingKeys: map[scope][]byte{}}
	v.skewText = fmt.Sprintf("%d min.", maxSkew/time.Minute)
	if maxSkew%time.Minute != 0 {
		v.skewText = maxSkew.String() + "."
	}
	for _, k := range keys {
		if !validAccessKeyID(k.AccessKeyID) {
			return nil, fmt.Errorf("access key id %q is not 16 to 128 characters of A-Z and 0-9", k.AccessKeyID)
		}
		if _, ok := v.keys[k.AccessKeyID]; ok {
			return nil, fmt.Errorf("access key id %q is given twice", k.AccessKeyID)
		}
		if k.Secret == "" {
			return nil, fmt.Errorf("access key id %q has an empty secret", k.AccessKeyID)
		}
		key := &Key{AccessKeyID: k.AccessKeyID, Secret: k.Secret}
		for _, z := range k.Zones {
			if z == "" || z == "." {
				return nil, fmt.Errorf("access key id %q: an empty zone name would be the root", k.AccessKeyID)
			}
			key.Zones = append(key.Zones, dns.CanonicalName(z))
		}
		v.keys[k.AccessKeyID] = key
	}
	return v, nil
}

func validAccessKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// auth is what a request says about its signature.
type auth struct {
	accessKeyID   string
	scope         string // date/region/service/terminator, as sent
	date          string // of the scope
	region        string
	service       string
	terminator    string
	signedHeaders string
	signature     string
	amzDate       string // the request time as signed, in ISO 8601 basic format
	signedAt      time.Time
	expires       int // seconds, presigned only; 0: not given
	presigned     bool
}

// Verify checks r's signature over body (the whole request body, already read by the caller;
// r.Body is not touched) and returns the key that signed it. The key must not be modified. The
// path signed is r.RequestURI's (as sent) when r came from net/http's server, else r.URL's.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Key, *Error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &Error{http.StatusBadRequest, "InvalidInput", "The query string is not validly encoded: " + err.Error()}
	}
	a, e := parseAuth(r, query)
	if e != nil {
		return nil, e
	}
	if e := v.checkScope(a); e != nil {
		return nil, e
	}
	key := v.keys[a.accessKeyID]
	if key == nil {
		return nil, &Error{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	if e := v.checkTime(a); e != nil {
		return nil, e
	}

	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash != unsignedPayload {
		sum := sha256.Sum256(body)
		bodyHash := hex.EncodeToString(sum[:])
		switch {
		case payloadHash == "":
			payloadHash = bodyHash
		case !strings.EqualFold(payloadHash, bodyHash):
			return nil, mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}

	canonical := canonicalRequest(r, query, a, payloadHash)
	sum := sha256.Sum256(canonical)
	toSign := make([]byte, 0, len(algorithm)+len(a.amzDate)+len(a.scope)+3+2*len(sum))
	toSign = append(toSign, algorithm+"\n"...)
	toSign = append(toSign, a.amzDate...)
	toSign = append(toSign, '\n')
	toSign = append(toSign, a.scope...)
	toSign = append(toSign, '\n')
	toSign = hex.AppendEncode(toSign, sum[:])

	sc := scope{a.accessKeyID, a.date, a.region}
	signingKey, cached := v.signingKey(sc, key.Secret)
	mac := hmac.New(sha256.New, signingKey)
	mac.Write(toSign)
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac.Sum(nil))
	if subtle.ConstantTimeCompare(want[:], []byte(a.signature)) != 1 {
		return nil, mismatch("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	if !cached {
		v.storeSigningKey(sc, signingKey)
	}
	return key, nil
}

// parseAuth reads the signature's parameters from the Authorization header or the query string.
func parseAuth(r *http.Request, query url.Values) (auth, *Error) {
	authorization := r.Header.Values("Authorization")
	_, presigned := query["X-Amz-Algorithm"]
	switch {
	case len(authorization) > 0 && presigned:
		return auth{}, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case len(authorization) > 1:
		return auth{}, incomplete("Only one Authorization header is allowed.")
	case presigned:
		return parsePresigned(query)
	case len(authorization) == 0 || authorization[0] == "":
		return auth{}, &Error{http.StatusForbidden, "MissingAuthenticationToken", "Missing Authentication Token"}
	}

	fields, ok := strings.CutPrefix(authorization[0], algorithm+" ")
	if !ok {
		return auth{}, incomplete("The Authorization header must start with '" + algorithm + " '.")
	}
	var a auth
	var credential string
	for field := range strings.SplitSeq(fields, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			return auth{}, incomplete("Invalid key=value pair (missing equal-sign) in Authorization header.")
		}
		switch name {
		case "Credential":
			credential = value
		case "SignedHeaders":
			a.signedHeaders = value
		case "Signature":
			a.signature = value
		}
	}
	var missing []string
	for _, p := range []struct{ name, value string }{{"Credential", credential}, {"Signature", a.signature}, {"SignedHeaders", a.signedHeaders}} {
		if p.value == "" {
			missing = append(missing, "Authorization header requires '"+p.name+"' parameter.")
		}
	}

	// AWS also takes an RFC 1123 Date header; the SDKs and the CLI always send X-Amz-Date.
	if a.amzDate = r.Header.Get("X-Amz-Date"); a.amzDate == "" {
		missing = append(missing, "Authorization header requires existence of a 'X-Amz-Date' header.")
	}
	if len(missing) > 0 {
		return auth{}, incomplete(strings.Join(missing, " "))
	}
	if e := a.parse(credential); e != nil {
		return auth{}, e
	}
	return a, nil
}

func parsePresigned(query url.Values) (auth, *Error) {
	var a auth
	a.presigned = true
	if alg := query.Get("X-Amz-Algorithm"); alg != algorithm {
		return auth{}, incomplete(fmt.Sprintf("X-Amz-Algorithm only supports '%s', not '%s'.", algorithm, alg))
	}
	credential := query.Get("X-Amz-Credential")
	a.amzDate = query.Get("X-Amz-Date")
	a.signedHeaders = query.Get("X-Amz-SignedHeaders")
	a.signature = query.Get("X-Amz-Signature")
	var missing []string
	for _, p := range []struct{ name, value string }{{"X-Amz-Credential", credential}, {"X-Amz-Date", a.amzDate}, {"X-Amz-SignedHeaders", a.signedHeaders}, {"X-Amz-Signature", a.signature}} {
		if p.value == "" {
			missing = append(missing, "Query-string authentication requires the '"+p.name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return auth{}, incomplete(strings.Join(missing, " "))
	}
	if s, ok := query["X-Amz-Expires"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > maxPresignExpiry {
			return auth{}, incomplete(fmt.Sprintf("X-Amz-Expires must be a number of seconds from 1 to %d, not '%s'.", maxPresignExpiry, s[0]))
		}
		a.expires = n
	}
	if e := a.parse(credential); e != nil {
		return auth{}, e
	}
	return a, nil
}

// parse reads the credential, the request time and the signed headers, common to both forms.
func (a *auth) parse(credential string) *Error {
	if e := a.parseCredential(credential); e != nil {
		return e
	}
	if e := a.parseDate(); e != nil {
		return e
	}
	host := false
	for name := range strings.SplitSeq(a.signedHeaders, ";") {
		if name == "" {
			return incomplete(fmt.Sprintf("SignedHeaders must be header names separated by ';', got '%s'.", a.signedHeaders))
		}
		host = host || name == "host"
	}
	if !host {
		return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

// parseCredential reads "AKID/20261201/us-east-1/route53/aws4_request".
func (a *auth) parseCredential(credential string) *Error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[1] == "" || parts[2] == "" || parts[3] == "" || parts[4] == "" {
		return incomplete(fmt.Sprintf("Credential must have exactly 5 non-empty slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'.", credential))
	}
	a.accessKeyID, a.date, a.region, a.service, a.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	a.scope = credential[len(a.accessKeyID)+1:]
	return nil
}

func (a *auth) parseDate() *Error {
	t, err := time.Parse(amzDateLayout, a.amzDate)
	if err != nil || len(a.amzDate) != len(amzDateLayout) {
		return incomplete(fmt.Sprintf("Date must be in ISO-8601 'basic format' (%s). Got '%s'.", amzDateLayout, a.amzDate))
	}
	a.signedAt = t
	return nil
}

// checkScope checks the credential scope against the verifier and the request's date; AWS
// answers these with SignatureDoesNotMatch.
func (v *Verifier) checkScope(a auth) *Error {
	switch {
	case a.terminator != terminator:
		return mismatch(fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'.", terminator, a.terminator))
	case a.service != v.service:
		return mismatch(fmt.Sprintf("Credential should be scoped to correct service: '%s'.", v.service))
	case a.date != a.amzDate[:8]:
		return mismatch(fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, a.amzDate[:8], a.amzDate))
	}
	return nil
}

// checkTime bounds the request time by the server's clock, and a presigned request by its expiry.
func (v *Verifier) checkTime(a auth) *Error {
	now := v.now().UTC()
	if a.signedAt.After(now.Add(v.maxSkew)) {
		return &Error{http.StatusForbidden, "RequestTimeTooSkewed", fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			a.amzDate, now.Add(v.maxSkew).Format(amzDateLayout), now.Format(amzDateLayout), v.skewText)}
	}
	if a.presigned && a.expires > 0 {
		if end := a.signedAt.Add(time.Duration(a.expires) * time.Second); now.After(end) {
			return &Error{http.StatusForbidden, "RequestExpired", fmt.Sprintf("Request has expired: %s + %d s is earlier than %s.", a.amzDate, a.expires, now.Format(amzDateLayout))}
		}
		return nil
	}
	if a.signedAt.Before(now.Add(-v.maxSkew)) {
		return &Error{http.StatusForbidden, "RequestTimeTooSkewed", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			a.amzDate, now.Add(-v.maxSkew).Format(amzDateLayout), now.Format(amzDateLayout), v.skewText)}
	}
	return nil
}

// signingKey returns the key derived for sc, and whether it came from the cache.
func (v *Verifier) signingKey(sc scope, secret string) ([]byte, bool) {
	v.mu.RLock()
	k, ok := v.signingKeys[sc]
	v.mu.RUnlock()
	if ok {
		return k, true
	}
	k = hmacSHA256([]byte("AWS4"+secret), sc.date)
	k = hmacSHA256(k, sc.region)
	k = hmacSHA256(k, v.service)
	return hmacSHA256(k, terminator), false
}

func (v *Verifier) storeSigningKey(sc scope, k []byte) {
	v.mu.Lock()
	if len(v.signingKeys) >= maxSigningKeys {
		clear(v.signingKeys)
	}
	v.signingKeys[sc] = k
	v.mu.Unlock()
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

func incomplete(msg string) *Error {
	return &Error{http.StatusBadRequest, "IncompleteSignature", msg}
}

func mismatch(msg string) *Error {
	return &Error{http.StatusForbidden, "SignatureDoesNotMatch", msg}
}
