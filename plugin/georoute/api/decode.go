package api

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// decode reads one JSON value into v, strictly: unknown fields (also those that match only in
// another case), duplicate keys, wrong types, numbers that do not fit, trailing data and bodies
// over the limit are errors that name what is wrong, by its whole path ("records[0].ttl").
func decode(r *http.Request, v any) *Error {
	// JSON is what is read, whatever the type says: curl -d sends application/x-www-form-urlencoded.
	// Only a type that cannot be JSON is refused.
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/") || strings.HasPrefix(ct, "text/xml") || strings.HasPrefix(ct, "application/xml") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: fmt.Sprintf("content type %q: send application/json", ct)}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes", tooBig.Limit)}
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "reading the body: " + err.Error()}
	}
	return decodeBytes(body, v)
}

// decodeBytes checks body against the Go type of v, then unmarshals it: encoding/json alone
// matches names in any case and keeps the last of duplicate keys, and its errors lose the path.
func decodeBytes(body []byte, v any) *Error {
	if r, ok := v.(*[]RTTReport); ok && decodeReports(body, r) {
		return nil // the common shape of a large body, read without the checker
	}
	return decodeChecked(body, v)
}

func decodeChecked(body []byte, v any) *Error {
	c := &checker{dec: json.NewDecoder(bytes.NewReader(body))}
	c.dec.UseNumber()
	if e := c.document(reflect.TypeOf(v)); e != nil {
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err) // what the checker does not model; it should not happen
	}
	return nil
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// checker walks the tokens of a document alongside the Go type it is to fill.
type checker struct {
	dec   *json.Decoder
	depth int
}

func (c *checker) document(t reflect.Type) *Error {
	if !c.dec.More() {
		if _, err := c.dec.Token(); err != io.EOF {
			return c.syntax(err)
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body is empty: send a JSON value"}
	}
	if e := c.value(t, "", false); e != nil {
		return e
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "trailing data after the JSON value"}
	}
	return nil
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
)

// value checks the next value against t (nil: any value) at path. viaPointer says t was
// reached through a pointer, which a null sets to nil without asking t's UnmarshalJSON.
func (c *checker) value(t reflect.Type, path string, viaPointer bool) *Error {
	for t != nil {
		if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return c.custom(t, path, viaPointer)
		}
		switch t.Kind() {
		case reflect.Pointer:
			t, viaPointer = t.Elem(), true
			continue
		case reflect.Interface:
			t = nil // encoding/json judges non-empty interfaces; any takes anything
			continue
		}
		break
	}
	tok, err := c.dec.Token()
	if err != nil {
		return c.syntax(err)
	}
	if t == nil {
		switch tok {
		case json.Delim('{'):
			return c.object(nil, path)
		case json.Delim('['):
			return c.array(nil, path)
		}
		return nil
	}
	switch tok := tok.(type) {
	case nil:
		return nil // null leaves the target as it is
	case json.Delim:
		if tok == '{' {
			return c.object(t, path)
		}
		return c.array(t, path)
	case string:
		switch {
		case t == numberType:
			if tok == "" || !strings.ContainsRune("-0123456789", rune(tok[0])) || !json.Valid([]byte(tok)) {
				return Invalid(path, "%q is not a number", tok)
			}
			return nil
		case t.Kind() == reflect.String:
			return nil
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
			if _, err := base64.StdEncoding.DecodeString(tok); err != nil {
				return Invalid(path, "%q is not base64", tok)
			}
			return nil
		}
		return wrongType(t, "string", path)
	case json.Number:
		return number(tok, t, path)
	case bool:
		if t.Kind() == reflect.Bool {
			return nil
		}
		return wrongType(t, "bool", path)
	}
	return nil
}

// custom hands a value to the type's own UnmarshalJSON (or UnmarshalText), as encoding/json
// will, so that its error names the path.
func (c *checker) custom(t reflect.Type, path string, viaPointer bool) *Error {
	var raw json.RawMessage
	if err := c.dec.Decode(&raw); err != nil {
		return c.syntax(err)
	}
	if string(raw) == "null" && viaPointer {
		return nil
	}
	var err error
	switch u := reflect.New(t).Interface().(type) {
	case json.Unmarshaler:
		err = u.UnmarshalJSON(raw)
	case encoding.TextUnmarshaler:
		if string(raw) == "null" {
			return nil
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return wrongType(reflect.TypeFor[string](), kindOf(raw), path)
		}
		err = u.UnmarshalText([]byte(s))
	}
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return wrongType(typ.Type, typ.Value, model.JoinPath(path, typ.Field))
	}
	return Invalid(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// quoted checks a field tagged `json:",string"`: encoding/json itself judges it, in a struct of
// that one field.
func (c *checker) quoted(t reflect.Type, path string) *Error {
	var raw json.RawMessage
	if err := c.dec.Decode(&raw); err != nil {
		return c.syntax(err)
	}
	probe := reflect.StructOf([]reflect.StructField{{Name: "V", Type: t, Tag: `json:"v,string"`}})
	doc := append(append([]byte(`{"v":`), raw...), '}')
	if err := json.Unmarshal(doc, reflect.New(probe).Interface()); err != nil {
		return Invalid(path, "want a JSON string holding %s: %s", jsonType(t), strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// object checks an object for t, a struct or a map (nil: any); its '{' has been read.
func (c *checker) object(t reflect.Type, path string) *Error {
	var fields *structFields
	var key, elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		key, elem = t.Key(), t.Elem()
	default:
		return wrongType(t, "object", path)
	}
	if c.depth++; c.depth > maxDepth {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("the body nests deeper than %d levels", maxDepth)}
	}
	seen := make(map[string]bool)
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return c.syntax(err)
		}
		name, _ := tok.(string)
		at := path + "[" + strconv.Quote(name) + "]"
		if fields != nil {
			at = model.JoinPath(path, name)
		}
		if seen[name] {
			return &Error{Status: http.StatusBadRequest, Code: "duplicate_field", Field: at, Message: fmt.Sprintf("%q is given twice", name)}
		}
		seen[name] = true
		switch {
		case fields != nil:
			f, ok := fields.byName[name]
			if !ok {
				return unknownField(fields, name, at)
			}
			if f.quoted {
				if e := c.quoted(f.typ, at); e != nil {
					return e
				}
				continue
			}
			if e := c.value(f.typ, at, false); e != nil {
				return e
			}
		case key != nil:
			if e := mapKey(key, name, at); e != nil {
				return e
			}
			if e := c.value(elem, at, false); e != nil {
				return e
			}
		default:
			if e := c.value(nil, at, false); e != nil {
				return e
			}
		}
	}
	c.depth--
	if _, err := c.dec.Token(); err != nil {
		return c.syntax(err)
	}
	return nil
}

// array checks an array for t, a slice or an array (nil: any); its '[' has been read.
func (c *checker) array(t reflect.Type, path string) *Error {
	var elem reflect.Type
	limit := -1
	switch {
	case t == nil:
	case t.Kind() == reflect.Slice:
		elem = t.Elem()
	case t.Kind() == reflect.Array:
		elem, limit = t.Elem(), t.Len()
	default:
		return wrongType(t, "array", path)
	}
	if c.depth++; c.depth > maxDepth {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("the body nests deeper than %d levels", maxDepth)}
	}
	for i := 0; c.dec.More(); i++ {
		et := elem
		if limit >= 0 && i >= limit {
			et = nil // encoding/json drops what does not fit
		}
		if e := c.value(et, path+"["+strconv.Itoa(i)+"]", false); e != nil {
			return e
		}
	}
	c.depth--
	if _, err := c.dec.Token(); err != nil {
		return c.syntax(err)
	}
	return nil
}

// syntax turns an error of the token stream into an Error.
func (c *checker) syntax(err error) *Error {
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body is not one JSON value"}
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("the body is not JSON: %v (at byte %d)", syn, syn.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body ends in the middle of a JSON value"}
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: err.Error()}
}

func unknownField(fields *structFields, name, at string) *Error {
	e := &Error{Status: http.StatusBadRequest, Code: "unknown_field", Field: at, Message: fmt.Sprintf("unknown field %q", name)}
	for _, known := range fields.names {
		if strings.EqualFold(known, name) {
			e.Message += fmt.Sprintf(": did you mean %q?", known)
			break
		}
	}
	return e
}

// mapKey checks a key of a map with keys of type t, as encoding/json reads them.
func mapKey(t reflect.Type, key, at string) *Error {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(key)); err != nil {
			return Invalid(at, "%s", err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil || t.OverflowInt(n) {
			return Invalid(at, "key %q is not an integer from %d to %d", key, minInt(t), maxInt(t))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(key, 10, 64)
		if err != nil || t.OverflowUint(n) {
			return Invalid(at, "key %q is not an integer from 0 to %d", key, maxUint(t))
		}
	}
	return nil
}

// number checks a JSON number against t: the kind, and that it fits.
func number(n json.Number, t reflect.Type, path string) *Error {
	if t == numberType {
		return nil
	}
	s := n.String()
	integral := !strings.ContainsAny(s, ".eE")
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !integral {
			return notWhole(s, path)
		}
		if v, err := strconv.ParseInt(s, 10, 64); err != nil || t.OverflowInt(v) {
			return Invalid(path, "%s is out of range (%d to %d)", s, minInt(t), maxInt(t))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !integral {
			return notWhole(s, path)
		}
		if v, err := strconv.ParseUint(s, 10, 64); err != nil || t.OverflowUint(v) {
			return Invalid(path, "%s is out of range (0 to %d)", s, maxUint(t))
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(s, t.Bits()); err != nil {
			return Invalid(path, "%s is out of range for a number", s)
		}
	default:
		return wrongType(t, "number", path)
	}
	return nil
}

func notWhole(s, path string) *Error {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) {
		return Invalid(path, "%s: write a whole number without a fraction or exponent", s)
	}
	return Invalid(path, "%s is not a whole number", s)
}

func minInt(t reflect.Type) int64   { return -1 << (t.Bits() - 1) }
func maxInt(t reflect.Type) int64   { return 1<<(t.Bits()-1) - 1 }
func maxUint(t reflect.Type) uint64 { return math.MaxUint64 >> (64 - t.Bits()) }

func wrongType(t reflect.Type, got, path string) *Error {
	return Invalid(path, "wrong type: want %s, got %s", jsonType(t), got)
}

// jsonType names the JSON value that fills a Go type.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

// kindOf names the kind of a raw JSON value, as encoding/json's errors do.
func kindOf(raw []byte) string {
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeError maps an error of encoding/json to an Error.
func decodeError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("the body is not JSON: %v (at byte %d)", syn, syn.Offset)}
	case errors.As(err, &typ):
		return wrongType(typ.Type, typ.Value, typ.Field)
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: strings.TrimPrefix(err.Error(), "json: ")}
}

// structFields are the fields encoding/json fills in a struct type, by their JSON name.
type structFields struct {
	byName map[string]jsonField
	names  []string // sorted, for hints
}

type jsonField struct {
	name   string
	tagged bool
	index  []int
	typ    reflect.Type
	quoted bool // `json:",string"`
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf lists the fields of struct type t as encoding/json does (typeFields): embedded
// structs flattened breadth first, the shallowest field of a name winning, a tagged one over an
// untagged one at the same depth, and names that stay ambiguous dropped.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var all []jsonField
	next := []queued{{typ: t}}
	var count map[reflect.Type]int
	nextCount := map[reflect.Type]int{}
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := range q.typ.NumField() {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTag(name) {
					name = ""
				}
				index := append(slices.Clip(q.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := jsonField{name: name, tagged: name != "", index: index, typ: sf.Type}
					if f.name == "" {
						f.name = sf.Name
					}
					if slices.Contains(strings.Split(opts, ","), "string") {
						switch ft.Kind() {
						case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64, reflect.String:
							f.quoted = true
						}
					}
					all = append(all, f)
					if count[q.typ] > 1 {
						// The same struct embedded twice at one depth: its fields annihilate.
						all = append(all, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	slices.SortStableFunc(all, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := &structFields{byName: make(map[string]jsonField)}
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		if j-i == 1 || len(all[i].index) != len(all[i+1].index) || all[i].tagged != all[i+1].tagged {
			out.byName[all[i].name] = all[i]
			out.names = append(out.names, all[i].name)
		}
		i = j
	}
	f, _ := fieldCache.LoadOrStore(t, out)
	return f.(*structFields)
}

// validTag is encoding/json's isValidTag.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
