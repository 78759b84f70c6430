package catalog

import (
	"encoding/json"
	"testing"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// TestDecodeName: the fast path reads exactly what encoding/json reads, for what the committer
// writes and for what it does not.
func TestDecodeName(t *testing.T) {
	specs := []model.Name{
		{Edge: "fra1"}, {Edge: "fra1", TTL: 10}, {Edge: "a-b_c.d", TTL: 604800}, {Pool: "web"},
		{Records: []model.Record{{Type: "TXT", TTL: 60, Value: `"x"`}}},
	}
	for _, spec := range specs {
		raw, _ := json.Marshal(spec)
		got, err := DecodeName(raw)
		if err != nil || got.Edge != spec.Edge || got.TTL != spec.TTL || got.Pool != spec.Pool || len(got.Records) != len(spec.Records) {
			t.Errorf("DecodeName(%s) = %+v, %v", raw, got, err)
		}
	}
	for _, raw := range []string{`{"edge":"fra1","ttl":99999999999}`, `{"edge":"Bad Id"}`, `{"edge":"fra1","ttl":10,"x":1}`, `{"edge":"fra1"`} {
		var want model.Name
		wantErr := json.Unmarshal([]byte(raw), &want)
		got, err := DecodeName([]byte(raw))
		if (err == nil) != (wantErr == nil) || got.Edge != want.Edge || got.TTL != want.TTL {
			t.Errorf("DecodeName(%s) = %+v, %v; encoding/json: %+v, %v", raw, got, err, want, wantErr)
		}
	}
}
