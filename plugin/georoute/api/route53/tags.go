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

// tagged checks a tags call's resource type: hosted zones and health checks have tags.
func tagged(resourceType string) error {
	switch resourceType {
	case "hostedzone", "healthcheck":
		return nil
	}
	return InvalidInput("ResourceType %q is not hostedzone or healthcheck", resourceType)
}

func tagSet(resourceType, id string, tags map[string]string) xTagSet {
	s := xTagSet{ResourceType: resourceType, ResourceID: id, Tags: xTags{Items: []xTag{}}}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		s.Tags.Items = append(s.Tags.Items, xTag{Key: k, Value: tags[k]})
	}
	return s
}

func (h *handler) tagSet(z Zone) xTagSet {
	return tagSet("hostedzone", h.zoneID(z.Origin), z.Spec.Tags)
}

// tagsOf returns the tags of a resource of the type the call names.
func (h *handler) tagsOf(c *call, id string) (xTagSet, error) {
	if c.params[0] == "healthcheck" {
		hid, hc, err := h.healthCheck(id)
		return tagSet("healthcheck", hid, hc.Tags), err
	}
	z, err := h.zone(id)
	if err != nil {
		return xTagSet{}, err
	}
	return h.tagSet(z), nil
}

// retag returns tags with req applied, or Route 53's error when too many would be left.
func retag(tags map[string]string, req changeTagsRequest, what string) (map[string]string, error) {
	tags = maps.Clone(tags)
	if tags == nil {
		tags = map[string]string{}
	}
	for _, t := range req.AddTags {
		tags[t.Key] = t.Value
	}
	for _, k := range req.RemoveTagKeys {
		delete(tags, k)
	}
	if len(tags) > maxTags {
		return nil, InvalidInput("A %s has at most %d tags; this would make %d", what, maxTags, len(tags))
	}
	if len(tags) == 0 {
		tags = nil
	}
	return tags, nil
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
	if err := h.retagResource(c, req); err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeTagsForResourceResponse"`
	}{})
	return nil
}

// retagResource applies req to the tags of the zone or health check the call names. A health
// check's tags change without a new version, as Route 53's do.
func (h *handler) retagResource(c *call, req changeTagsRequest) error {
	if c.params[0] == "healthcheck" {
		id, hc, err := h.healthCheck(c.params[1])
		if err != nil {
			return err
		}
		if err := c.mayChangeAccount("healthcheck/" + id); err != nil {
			return err
		}
		if hc.Tags, err = retag(hc.Tags, req, "health check"); err != nil {
			return err
		}
		_, err = h.b.UpdateHealthCheck(id, hc)
		return err
	}
	z, err := h.updatable(c, c.params[1])
	if err != nil {
		return err
	}
	spec := z.Spec
	if spec.Tags, err = retag(spec.Tags, req, "hosted zone"); err != nil {
		return err
	}
	_, err = h.b.UpdateZone(z.Origin, spec)
	return err
}

func (h *handler) listTags(c *call) error {
	if err := tagged(c.params[0]); err != nil {
		return err
	}
	set, err := h.tagsOf(c, c.params[1])
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName        xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListTagsForResourceResponse"`
		ResourceTagSet xTagSet
	}{ResourceTagSet: set})
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
		set, err := h.tagsOf(c, id)
		if err != nil {
			return err
		}
		out.ResourceTagSets.Items = append(out.ResourceTagSets.Items, set)
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}
