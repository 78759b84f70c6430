// Package config reads the georoute config file (YAML, TOML or JSON) with viper into a
// normalized, validated model.Config. Every error names the file and the field.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Load reads, normalizes and validates the config file at path on its own.
func Load(path string) (*model.Config, error) {
	cfg, err := Decode(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, InFile(path, err)
	}
	return cfg, nil
}

// Decode reads and normalizes the config file at path without validating it: its references may
// be to objects defined elsewhere (the API), so the caller validates what it merges it with.
// Relative paths inside it (RTT files) are made relative to the file's folder.
func Decode(path string) (*model.Config, error) {
	cfg, err := decode(path)
	if err != nil {
		return nil, err
	}
	cfg.Normalize()
	dir := filepath.Dir(path)
	for i, f := range cfg.RTT.Files {
		if !filepath.IsAbs(f) {
			cfg.RTT.Files[i] = filepath.Join(dir, f)
		}
	}
	return cfg, nil
}

func decode(path string) (*model.Config, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist", path)
		}
		return nil, fmt.Errorf("config file %s: %v", path, err)
	}
	// Names hold dots, so viper's key delimiter must be something names cannot hold.
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigFile(path)
	switch ext := strings.TrimPrefix(filepath.Ext(path), "."); ext {
	case "yaml", "yml", "json", "toml":
	default:
		return nil, fmt.Errorf("config file %s: extension %q is not one of .yaml, .yml, .toml, .json", path, ext)
	}
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("config file %s does not parse: %v", path, trimViper(err))
	}
	// Decode from the raw sections: viper's flattened view (Unmarshal, AllSettings) drops empty
	// mappings, and "www.example.net: {}" must be an error, not nothing.
	raw := make(map[string]any, len(sections))
	for _, s := range sections {
		if v.IsSet(s) || v.Get(s) != nil {
			raw[s] = v.Get(s)
		}
	}
	var es model.Errors
	for _, k := range v.AllKeys() {
		top, _, _ := strings.Cut(k, "::")
		if _, ok := raw[top]; !ok && !slices.Contains(es.Fields(), top) {
			es = append(es, &model.FieldError{Code: model.CodeInvalid, Field: top, Message: "unknown field (want " + strings.Join(sections, ", ") + ")"})
		}
	}
	if len(es) > 0 {
		return nil, InFile(path, es)
	}
	cfg := new(model.Config)
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:      cfg,
		ErrorUnused: true,
		DecodeHook:  durationHook,
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(raw); err != nil {
		return nil, InFile(path, decodeErrors(err))
	}
	return cfg, nil
}

var sections = []string{"edges", "pools", "names", "rtt", "defaults"}

var durationType = reflect.TypeOf(model.Duration(0))

func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	return model.ParseDuration(data)
}

// decodeErrors turns mapstructure's tree of errors into model.Errors with our field paths.
func decodeErrors(err error) error {
	var es model.Errors
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(err, &de) {
			inner := de.Unwrap()
			var deeper *mapstructure.DecodeError
			if errors.As(inner, &deeper) && deeper != de {
				walk(inner)
				return
			}
			es = append(es, &model.FieldError{Code: model.CodeInvalid, Field: fieldPath(de.Name()), Message: explain(inner)})
			return
		}
		es = append(es, &model.FieldError{Code: model.CodeInvalid, Message: err.Error()})
	}
	walk(err)
	return es
}

var (
	mapField  = regexp.MustCompile(`^(edges|pools)\[([^\]]+)\]`)
	nameField = regexp.MustCompile(`^names\[([^\]]+)\]`)
	badType   = regexp.MustCompile(`expected type '([^']+)', got unconvertible type '([^']+)'`)
	notList   = regexp.MustCompile(`source data must be an array or slice, got (\w+)`)
)

func fieldPath(name string) string {
	name = mapField.ReplaceAllString(name, "$1.$2")
	return nameField.ReplaceAllString(name, `names["$1"]`)
}

func explain(err error) string {
	msg := err.Error()
	if m := badType.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("wrong type: want %s, got %s", friendlyType(m[1]), friendlyType(m[2]))
	}
	if m := notList.FindStringSubmatch(msg); m != nil {
		return "wrong type: want a list, got " + friendlyType(m[1])
	}
	if rest, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
		return "unknown field(s): " + rest
	}
	return msg
}

func friendlyType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case strings.Contains(t, "int") || t == "float64" || t == "*float64" || t == "*int":
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	}
	return t
}

func trimViper(err error) string {
	return strings.TrimPrefix(err.Error(), "While parsing config: ")
}

// InFile prefixes every error with the file it is in.
func InFile(path string, err error) error {
	var es model.Errors
	if errors.As(err, &es) {
		return &FileError{Path: path, Errors: es}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// FileError is every mistake found in one config file.
type FileError struct {
	Path   string
	Errors model.Errors
}

func (e *FileError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = e.Path + ": " + fe.Error()
	}
	return strings.Join(lines, "\n")
}

func (e *FileError) Unwrap() error { return e.Errors }
