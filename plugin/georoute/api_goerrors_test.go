package georoute

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGoErrorsShaped: the broken requests Go's HTTP server answers itself, before any handler
// (a request without Host, headers over the limit, an unknown Transfer-Encoding), get the front
// door's own error shape and headers: JSON from the native API, Route 53's ErrorResponse from its
// API. Before, they were plain text.
func TestGoErrorsShaped(t *testing.T) {
	s, api := startRoute53Health(t)
	raw := func(base, req string) (*http.Response, []byte) {
		t.Helper()
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", req[:min(len(req), 40)], err)
		}
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	big := "GET /v1/edges HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		status    int
		code      string
	}{
		{"no Host", "GET /v1/edges HTTP/1.1\r\n\r\n", 400, "bad_request"},
		{"headers over 16 KiB", big, 431, "headers_too_large"},
		{"unknown Transfer-Encoding", "POST /v1/rtt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "bad_request"},
		{"a broken request line", "GET\r\n\r\n", 400, "bad_request"},
	} {
		resp, body := raw(api.base, tc.req)
		var e struct {
			Error struct{ Code, Message string }
		}
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
			json.Unmarshal(body, &e) != nil || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("native API, %s: %d %v %q", tc.name, resp.StatusCode, resp.Header, body)
		}
	}
	resp, body := raw(s.base, "GET /2013-04-01/hostedzone HTTP/1.1\r\n\r\n")
	var e struct {
		XMLName xml.Name
		Error   struct{ Type, Code, Message string }
		ID      string `xml:"RequestId"`
	}
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "text/xml" || xml.Unmarshal(body, &e) != nil ||
		e.XMLName.Local != "ErrorResponse" || e.Error.Code != "InvalidInput" || e.Error.Type != "Sender" || e.ID == "" {
		t.Errorf("Route 53 API without Host: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	// A well-formed request is not touched.
	api.expect("GET", "/v1/edges", writeToken, nil, 200, "", "")
}
