package route53

import (
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/model"
)

// CidrBackend keeps Route 53's CIDR collections. Ids are Route 53's: UUIDs, made here.
type CidrBackend interface {
	// CidrCollections is every collection by id; read only.
	CidrCollections() map[string]model.CidrCollection
	// CreateCidrCollection creates a collection of version 1.
	CreateCidrCollection(id string, cc model.CidrCollection) (rev int64, err error)
	// ChangeCidrCollection replaces a collection with its next version (cc.Version), and the
	// prefixes of every pool that routes by its locations with its blocks.
	ChangeCidrCollection(id string, cc model.CidrCollection) (rev int64, err error)
	DeleteCidrCollection(id string) (rev int64, err error)
}

// Route 53's limits on CIDR collections.
const (
	maxCidrCollections = 100  // Route 53's default quota is 5 a account
	maxCidrChange      = 1000 // blocks in one ChangeCidrCollection, and its changes
	maxCidrPage        = 1000
	defCidrPage        = 100
)

// NoSuchCidrCollection is a collection id that no collection has (404).
func NoSuchCidrCollection(id string) *Error {
	return newError(http.StatusNotFound, "NoSuchCidrCollectionException", "The CIDR collection %s does not exist", id)
}

// CidrBlockInUse refuses to take away the last blocks of a location that record sets use (400).
func CidrBlockInUse(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "CidrBlockInUseException", format, args...)
}

// CidrCollectionInUse refuses to delete a collection that is not empty or is used (400).
func CidrCollectionInUse(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "CidrCollectionInUseException", format, args...)
}

type xCollection struct {
	Arn     string
	ID      string `xml:"Id"`
	Name    string
	Version int64
}

func xCollectionOf(id string, cc model.CidrCollection) xCollection {
	return xCollection{Arn: "arn:aws:route53:::cidrcollection/" + id, ID: id, Name: cc.Name, Version: cc.Version}
}

type createCidrCollectionRequest struct {
	XMLName         xml.Name `xml:"CreateCidrCollectionRequest"`
	Name            string   `xml:"Name"`
	CallerReference string   `xml:"CallerReference"`
}

// xCidrChange is one change of ChangeCidrCollection. The SDKs send each as <member>, the API
// reference writes <CidrCollectionChange>: any element name is taken.
type xCidrChange struct {
	LocationName string   `xml:"LocationName"`
	Action       string   `xml:"Action"`
	CidrList     []string `xml:"CidrList>Cidr"`
}

type changeCidrCollectionRequest struct {
	XMLName           xml.Name `xml:"ChangeCidrCollectionRequest"`
	CollectionVersion *string  `xml:"CollectionVersion"`
	Changes           *struct {
		Items []xCidrChange `xml:",any"`
	} `xml:"Changes"`
}

func (h *handler) cidrCollection(raw string) (string, model.CidrCollection, error) {
	id := strings.ToLower(strings.TrimSpace(raw))
	cc, ok := h.b.CidrCollections()[id]
	if !ok {
		return "", cc, NoSuchCidrCollection(id)
	}
	return id, cc, nil
}

func (h *handler) createCidrCollection(c *call) error {
	var req createCidrCollectionRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	switch {
	case !model.ValidCidrName(req.Name, model.MaxCidrCollectionName):
		return InvalidInput("Name %q: a collection's name has 1 to %d letters, digits, '_' or '-'", req.Name, model.MaxCidrCollectionName)
	case req.CallerReference == "" || len(req.CallerReference) > 64:
		return InvalidInput("CallerReference is required, 1 to 64 characters")
	}
	if err := c.mayChangeAccount("cidrcollection/*"); err != nil {
		return err
	}
	all := h.b.CidrCollections()
	for _, id := range slices.Sorted(maps.Keys(all)) {
		old := all[id]
		switch {
		case old.Name == req.Name && old.CallerReference == req.CallerReference:
			return h.writeCreatedCollection(c, id, old) // the same request again
		case old.Name == req.Name, old.CallerReference == req.CallerReference:
			return newError(http.StatusBadRequest, "CidrCollectionAlreadyExistsException", "A CIDR collection named %s or with caller reference %s exists already (%s)", req.Name, req.CallerReference, id)
		}
	}
	if len(all) >= maxCidrCollections {
		return newError(http.StatusBadRequest, "LimitsExceeded", "This appliance keeps at most %d CIDR collections", maxCidrCollections)
	}
	id := newRequestID()
	if _, err := h.b.CreateCidrCollection(id, model.CidrCollection{Name: req.Name, CallerReference: req.CallerReference, Version: 1}); err != nil {
		return err
	}
	cc, ok := h.b.CidrCollections()[id]
	if !ok {
		return NoSuchCidrCollection(id)
	}
	return h.writeCreatedCollection(c, id, cc)
}

func (h *handler) writeCreatedCollection(c *call, id string, cc model.CidrCollection) error {
	c.w.Header().Set("Location", location(c.r, "/cidrcollection/"+id))
	writeXML(c.w, http.StatusCreated, struct {
		XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ CreateCidrCollectionResponse"`
		Collection xCollection
	}{Collection: xCollectionOf(id, cc)})
	return nil
}

func (h *handler) changeCidrCollection(c *call) error {
	var req changeCidrCollectionRequest
	if e := decodeXML(c.body, &req); e != nil {
		return e
	}
	if req.Changes == nil || len(req.Changes.Items) == 0 {
		return InvalidInput("Changes holds 1 to %d changes", maxCidrChange)
	}
	blocks := 0
	for i, ch := range req.Changes.Items {
		blocks += len(ch.CidrList)
		switch {
		case ch.Action != "PUT" && ch.Action != "DELETE_IF_EXISTS":
			return InvalidInput("Changes[%d]: Action %q is not PUT or DELETE_IF_EXISTS", i, ch.Action)
		case !model.ValidCidrName(ch.LocationName, model.MaxCidrLocationName):
			return InvalidInput("Changes[%d]: LocationName %q has 1 to %d letters, digits, '_' or '-'", i, ch.LocationName, model.MaxCidrLocationName)
		case len(ch.CidrList) == 0:
			return InvalidInput("Changes[%d]: CidrList holds 1 to %d blocks", i, maxCidrChange)
		}
	}
	if len(req.Changes.Items) > maxCidrChange || blocks > maxCidrChange {
		return newError(http.StatusBadRequest, "LimitsExceeded", "A ChangeCidrCollection takes at most %d changes and %d CIDR blocks, not %d and %d", maxCidrChange, maxCidrChange, len(req.Changes.Items), blocks)
	}
	id, cc, err := h.cidrCollection(c.params[0])
	if err != nil {
		return err
	}
	if err := c.mayChangeAccount("cidrcollection/" + id); err != nil {
		return err
	}
	if req.CollectionVersion != nil {
		v, err := strconv.ParseInt(strings.TrimSpace(*req.CollectionVersion), 10, 64)
		switch {
		case err != nil || v < 1:
			return InvalidInput("CollectionVersion %q is not a version", *req.CollectionVersion)
		case v != cc.Version:
			return newError(http.StatusConflict, "CidrCollectionVersionMismatchException", "The CIDR collection %s is at version %d, not %d: list it again and retry", id, cc.Version, v)
		}
	}
	next := model.CidrCollection{Name: cc.Name, CallerReference: cc.CallerReference, Version: cc.Version + 1, Locations: map[string][]string{}}
	for name, bs := range cc.Locations {
		next.Locations[name] = slices.Clone(bs)
	}
	for i, ch := range req.Changes.Items {
		have := next.Locations[ch.LocationName]
		for _, raw := range ch.CidrList {
			b, err := model.CidrBlock(raw)
			if err != nil {
				return InvalidInput("Changes[%d]: %v", i, err)
			}
			switch {
			case ch.Action == "PUT" && !slices.Contains(have, b):
				have = append(have, b)
			case ch.Action == "DELETE_IF_EXISTS":
				have = slices.DeleteFunc(have, func(x string) bool { return x == b })
			}
		}
		next.Locations[ch.LocationName] = have
	}
	next.Normalize()
	if n := next.Blocks(); n > model.MaxCidrBlocks {
		return newError(http.StatusBadRequest, "LimitsExceeded", "The CIDR collection would hold %d blocks; it holds at most %d", n, model.MaxCidrBlocks)
	}
	rev, err := h.b.ChangeCidrCollection(id, next)
	if err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeCidrCollectionResponse"`
		ID      string   `xml:"Id"`
	}{ID: strings.TrimPrefix(h.changeInfo(rev, "").ID, changePrefix)})
	return nil
}

func (h *handler) deleteCidrCollection(c *call) error {
	id, cc, err := h.cidrCollection(c.params[0])
	if err != nil {
		return err
	}
	if err := c.mayChangeAccount("cidrcollection/" + id); err != nil {
		return err
	}
	if n := cc.Blocks(); n > 0 {
		return CidrCollectionInUse("The CIDR collection %s is not empty: it holds %d blocks; delete them first", id, n)
	}
	if _, err := h.b.DeleteCidrCollection(id); err != nil {
		return err
	}
	writeXML(c.w, http.StatusOK, struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ DeleteCidrCollectionResponse"`
	}{})
	return nil
}

// page reads nexttoken and maxresults: the key to start at, and how many to return.
func page(r *http.Request) (token string, limit int, err error) {
	q := r.URL.Query()
	limit = defCidrPage
	if s := q.Get("maxresults"); s != "" {
		n, e := strconv.Atoi(s)
		if e != nil || n < 1 {
			return "", 0, InvalidInput("maxresults %q is not a positive number", s)
		}
		limit = min(n, maxCidrPage)
	}
	return q.Get("nexttoken"), limit, nil
}

// paged returns the keys from token on, at most limit, and the token of the next page ("" at
// the end). keys are sorted.
func paged(keys []string, token string, limit int) ([]string, string) {
	start, _ := slices.BinarySearch(keys, token)
	keys = keys[start:]
	if len(keys) > limit {
		return keys[:limit], keys[limit]
	}
	return keys, ""
}

func (h *handler) listCidrCollections(c *call) error {
	token, limit, err := page(c.r)
	if err != nil {
		return err
	}
	all := h.b.CidrCollections()
	ids, next := paged(slices.Sorted(maps.Keys(all)), token, limit)
	out := struct {
		XMLName         xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListCidrCollectionsResponse"`
		NextToken       string   `xml:",omitempty"`
		CidrCollections struct {
			Items []xCollection `xml:"member"`
		}
	}{NextToken: next}
	out.CidrCollections.Items = []xCollection{}
	for _, id := range ids {
		out.CidrCollections.Items = append(out.CidrCollections.Items, xCollectionOf(id, all[id]))
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}

// collectionPage reads the collection a list call names and the page it asks for.
func (h *handler) collectionPage(c *call) (cc model.CidrCollection, token string, limit int, err error) {
	if token, limit, err = page(c.r); err != nil {
		return cc, "", 0, err
	}
	_, cc, err = h.cidrCollection(c.params[0])
	return cc, token, limit, err
}

func (h *handler) listCidrLocations(c *call) error {
	cc, token, limit, err := h.collectionPage(c)
	if err != nil {
		return err
	}
	names, next := paged(slices.Sorted(maps.Keys(cc.Locations)), token, limit)
	type xLocation struct{ LocationName string }
	out := struct {
		XMLName       xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListCidrLocationsResponse"`
		NextToken     string   `xml:",omitempty"`
		CidrLocations struct {
			Items []xLocation `xml:"member"`
		}
	}{NextToken: next}
	out.CidrLocations.Items = []xLocation{}
	for _, name := range names {
		out.CidrLocations.Items = append(out.CidrLocations.Items, xLocation{name})
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}

func (h *handler) listCidrBlocks(c *call) error {
	cc, token, limit, err := h.collectionPage(c)
	if err != nil {
		return err
	}
	loc := c.r.URL.Query().Get("location")
	if _, ok := cc.Locations[loc]; loc != "" && !ok {
		return newError(http.StatusNotFound, "NoSuchCidrLocationException", "The CIDR collection has no location %s", loc)
	}
	// A token is "location block": blocks are listed by location, then block.
	var keys []string
	for name, bs := range cc.Locations {
		if loc == "" || name == loc {
			for _, b := range bs {
				keys = append(keys, name+" "+b)
			}
		}
	}
	slices.Sort(keys)
	keys, next := paged(keys, token, limit)
	type xBlock struct{ CidrBlock, LocationName string }
	out := struct {
		XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListCidrBlocksResponse"`
		NextToken  string   `xml:",omitempty"`
		CidrBlocks struct {
			Items []xBlock `xml:"member"`
		}
	}{NextToken: next}
	out.CidrBlocks.Items = []xBlock{}
	for _, k := range keys {
		name, b, _ := strings.Cut(k, " ")
		out.CidrBlocks.Items = append(out.CidrBlocks.Items, xBlock{CidrBlock: b, LocationName: name})
	}
	writeXML(c.w, http.StatusOK, out)
	return nil
}
