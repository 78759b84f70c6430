package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// Go's HTTP server answers a few broken requests itself, before any handler sees them (400 for
// a malformed request line or header or no Host, 431 for headers over the limit, 417 and 501):
// one write of a plain-text answer, always with these headers.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// Body words an error for a front door: the native API's JSON error, Route 53's XML one.
type Body func(status int, message string) (contentType string, body []byte)

// Shaped returns ln whose connections answer those broken requests in the front door's own
// error shape (and with its headers: no-store, nosniff) instead of Go's plain text. Only for a
// listener of plain HTTP: under TLS the server must see its *tls.Conn.
func Shaped(ln net.Listener, body Body) net.Listener { return &shapedListener{ln, body} }

type shapedListener struct {
	net.Listener
	body Body
}

func (l *shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &shapedConn{c, l.body}, nil
}

type shapedConn struct {
	net.Conn
	body Body
}

func (c *shapedConn) Write(p []byte) (int, error) {
	status, message, ok := goError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	ct, b := c.body(status, message)
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), ct, len(b))
	if _, err := c.Conn.Write(append([]byte(head), b...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// goError reads one of Go's own answers: its status and what it says.
func goError(p []byte) (status int, message string, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !found || len(rest) < 4 || rest[3] != ' ' {
		return 0, "", false
	}
	line, body, found := bytes.Cut(rest, []byte(goErrorHeaders))
	if !found {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(rest[:3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	message = string(line[4:])
	if len(body) > 0 && !bytes.Equal(body, line) {
		message += ": " + string(body)
	}
	return status, message, true
}

// JSONBody words Go's own answers as the native API's errors: code bad_request, or
// headers_too_large for 431.
func JSONBody(status int, message string) (string, []byte) {
	code := "bad_request"
	if status == http.StatusRequestHeaderFieldsTooLarge {
		code = "headers_too_large"
	}
	b, _ := json.MarshalIndent(map[string]*Error{"error": {Code: code, Message: message}}, "", "  ")
	return "application/json; charset=utf-8", append(b, '\n')
}
