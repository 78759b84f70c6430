package route53

import (
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
)

// Route 53's limits on tags.
const (
	maxTagsChange = 10  // tags added, or keys removed, by one call
	maxTags       = 50  // tags of one zone
	maxTagKey     = 128 // characters
	maxTagValue   = 256
	maxTagsList   = 10 // resources of one ListTagsForResources
)

// tagged checks a tags call's resource type: hosted zones have tags here, health checks do not
// exist yet.
func tagged(resourceType string) error {
	switch resourceType {
	case "hostedzone":
		return nil
	case "healthcheck":
		return InvalidInput("Health checks are not supported by this appliance yet")
	}
	return InvalidInput("ResourceType %q is not hostedzone or healthcheck", resourceType)
}

func (h *handler) tagSet(z Zone) xTagSet {
	s := xTagSet{ResourceType: "hostedzone", ResourceID: h.zoneID(z.Origin), Tags: xTags{Items: []xTag{}}}
	for _, k := range slices.Sorted(maps.Keys(z.Spec.Tags)) {
		s.Tags.Items = append(s.Tags.Items, xTag{Key: k, Value: z.Spec.Tags[k]})
	}
	return s
}

func (h *handler) changeTags(c *call) error {
	if err := tagged(c.params[0]); err != nil {
		return err
	}
	var req changeTagsRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	switch {
	case len(req.AddTags) == 0 && len(req.RemoveTagKeys) == 0:
		return InvalidInput("Give AddTags or RemoveTagKeys")
	case len(req.AddTags) > maxTagsChange || len(req.RemoveTagKeys) > maxTagsChange:
		return InvalidInput("At most %d tags can be added and %d removed in one call", maxTagsChange, maxTagsChange)
	}
	for _, t := range req.AddTags {
		if t.Key == "" || len(t.Key) > maxTagKey || len(t.Value) > maxTagValue {
			return InvalidInput("Tag %q: a key has 1 to %d characters and a value at most %d", t.Key, maxTagKey, maxTagValue)
		}
	}
	z, err := h.updatable(c, c.params[1])
	if err != nil {
		return err
	}
	spec := z.Spec
	spec.Tags = maps.Clone(spec.Tags)
	if spec.Tags == nil {
		spec.Tags = map[string]string{}
	}
	for _, t := range req.AddTags {
		spec.Tags[t.Key] = t.Value
	}
	for _, k := range req.RemoveTagKeys {
		delete(spec.Tags, k)
	}
	if len(spec.Tags) > maxTags {
		return InvalidInput("A hosted zone has at most %d tags; this would make %d", maxTags, len(spec.Tags))
	}
	if len(spec.Tags) == 0 {
		spec.Tags = nil
	}
	if _, err := h.b.UpdateZone(z.Origin, spec); err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeTagsForResourceResponse"`
	}{})
	return nil
}

func (h *handler) listTags(c *call) error {
	if err := tagged(c.params[0]); err != nil {
		return err
	}
	z, err := h.zone(c.params[1])
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName        xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListTagsForResourceResponse"`
		ResourceTagSet xTagSet
	}{ResourceTagSet: h.tagSet(z)})
	return nil
}

func (h *handler) listTagsForResources(c *call) error {
	if err := tagged(c.params[0]); err != nil {
		return err
	}
	var req listTagsRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	if len(req.ResourceIDs) == 0 || len(req.ResourceIDs) > maxTagsList {
		return InvalidInput("ResourceIds holds 1 to %d ids, not %d", maxTagsList, len(req.ResourceIDs))
	}
	out := struct {
		XMLName         xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListTagsForResourcesResponse"`
		ResourceTagSets struct {
			Items []xTagSet `xml:"ResourceTagSet"`
		}
	}{}
	out.ResourceTagSets.Items = []xTagSet{}
	for _, id := range req.ResourceIDs {
		z, err := h.zone(id)
		if err != nil {
			return err
		}
		out.ResourceTagSets.Items = append(out.ResourceTagSets.Items, h.tagSet(z))
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}
