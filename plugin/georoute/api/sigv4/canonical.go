package sigv4

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// canonicalRequest is method, URI, query, headers, signed headers and payload hash, as AWS signs them.
func canonicalRequest(r *http.Request, query url.Values, a auth, payloadHash string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, r.Method...)
	b = append(b, '\n')

	// The path as sent, encoded once more: what the SDKs sign for every service but S3.
	path := r.URL.EscapedPath()
	if strings.HasPrefix(r.RequestURI, "/") {
		path, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if path == "" {
		path = "/"
	}
	b = appendEscaped(b, path, false)
	b = append(b, '\n')

	type param struct{ name, value string }
	params := make([]param, 0, len(query))
	for name, values := range query {
		if a.presigned && name == "X-Amz-Signature" {
			continue
		}
		en := string(appendEscaped(nil, name, true))
		for _, value := range values {
			params = append(params, param{en, string(appendEscaped(nil, value, true))})
		}
	}
	slices.SortFunc(params, func(x, y param) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.name...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	b = append(b, '\n')

	for name := range strings.SplitSeq(a.signedHeaders, ";") {
		b = append(b, name...)
		b = append(b, ':')
		switch values := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; {
		case name == "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			b = appendTrimmed(b, host)
		case len(values) == 0 && name == "content-length" && r.ContentLength > 0:
			// A client's request keeps its length out of Header; a server's has both.
			b = strconv.AppendInt(b, r.ContentLength, 10)
		default:
			for i, v := range values {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendTrimmed(b, v)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, a.signedHeaders...)
	b = append(b, '\n')
	return append(b, payloadHash...)
}

// appendEscaped percent-encodes s as AWS does: every byte but A-Z a-z 0-9 - . _ ~ (and '/' in a
// path) as %XX in upper case.
func appendEscaped(b []byte, s string, encodeSlash bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && !encodeSlash) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// appendTrimmed appends v without leading and trailing white space and with runs of spaces folded.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return b
}
