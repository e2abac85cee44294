package sesapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/store"
)

// configSetErr maps configsets errors to each protocol's codes.
func configSetErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "configsets:") {
		msg = msg[i+2:]
	}
	switch {
	case errors.Is(err, configsets.ErrNotFound):
		e := apiErr(http.StatusBadRequest, "ConfigurationSetDoesNotExist", "%s", msg)
		e.V2Code, e.V2Status = "NotFoundException", http.StatusNotFound
		return e
	case errors.Is(err, configsets.ErrExists):
		e := apiErr(http.StatusBadRequest, "ConfigurationSetAlreadyExists", "%s", msg)
		e.V2Code = "AlreadyExistsException"
		return e
	case errors.Is(err, configsets.ErrDestinationNotFound):
		e := apiErr(http.StatusBadRequest, "EventDestinationDoesNotExist", "%s", msg)
		e.V2Code, e.V2Status = "NotFoundException", http.StatusNotFound
		return e
	case errors.Is(err, configsets.ErrDestinationExists):
		e := apiErr(http.StatusBadRequest, "EventDestinationAlreadyExists", "%s", msg)
		e.V2Code = "AlreadyExistsException"
		return e
	case errors.Is(err, configsets.ErrInvalid):
		return errBadRequest("%s", msg)
	case errors.Is(err, configsets.ErrLimit):
		e := apiErr(http.StatusBadRequest, "LimitExceeded", "%s", msg)
		e.V2Code = "LimitExceededException"
		return e
	}
	return err
}

func (s *Server) routeConfigSetsV2() []route {
	const base = "/v2/email/configuration-sets"
	return []route{
		{"POST " + base, "CreateConfigurationSet", s.v2CreateConfigSet},
		{"GET " + base, "ListConfigurationSets", s.v2ListConfigSets},
		// aws-sdk-go-v2's sesv2 (v1.79 on) lists with a POST and a JSON body.
		{"POST /v2/email/list-configuration-sets", "ListConfigurationSets", s.v2ListConfigSets},
		{"GET " + base + "/{Name}", "GetConfigurationSet", s.v2GetConfigSet},
		{"DELETE " + base + "/{Name}", "DeleteConfigurationSet", s.v2DeleteConfigSet},
		{"PUT " + base + "/{Name}/sending", "PutConfigurationSetSendingOptions", s.v2PutConfigSetSending},
		{"PUT " + base + "/{Name}/suppression-options", "PutConfigurationSetSuppressionOptions", s.v2PutConfigSetSuppression},
		{"PUT " + base + "/{Name}/delivery-options", "PutConfigurationSetDeliveryOptions", s.v2PutConfigSetDelivery},
		{"PUT " + base + "/{Name}/reputation-options", "PutConfigurationSetReputationOptions", s.v2PutConfigSetReputation},
		{"POST " + base + "/{Name}/event-destinations", "CreateConfigurationSetEventDestination", s.v2CreateDestination},
		{"GET " + base + "/{Name}/event-destinations", "GetConfigurationSetEventDestinations", s.v2GetDestinations},
		{"PUT " + base + "/{Name}/event-destinations/{Dest}", "UpdateConfigurationSetEventDestination", s.v2UpdateDestination},
		{"DELETE " + base + "/{Name}/event-destinations/{Dest}", "DeleteConfigurationSetEventDestination", s.v2DeleteDestination},
		{"PUT /v2/email/account/suppression", "PutAccountSuppressionAttributes", s.v2PutAccountSuppression},
	}
}

type v2ConfigSetIn struct {
	ConfigurationSetName string
	DeliveryOptions      *struct {
		TlsPolicy          string
		SendingPoolName    string
		MaxDeliverySeconds int64
	}
	ReputationOptions  *struct{ ReputationMetricsEnabled bool }
	SendingOptions     *struct{ SendingEnabled *bool }
	SuppressionOptions *struct{ SuppressedReasons []string }
	TrackingOptions    *struct{ CustomRedirectDomain string }
	Tags               []v2Tag
}

func (s *Server) v2CreateConfigSet(c *call) (any, error) {
	var in v2ConfigSetIn
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	set := configsets.Set{Name: in.ConfigurationSetName, SendingEnabled: true}
	if d := in.DeliveryOptions; d != nil {
		set.TLSPolicy, set.SendingPoolName, set.MaxDeliverySeconds = d.TlsPolicy, d.SendingPoolName, d.MaxDeliverySeconds
	}
	if in.ReputationOptions != nil {
		set.ReputationMetrics = in.ReputationOptions.ReputationMetricsEnabled
	}
	if in.SendingOptions != nil && in.SendingOptions.SendingEnabled != nil {
		set.SendingEnabled = *in.SendingOptions.SendingEnabled
	}
	if in.SuppressionOptions != nil {
		r := append([]string{}, in.SuppressionOptions.SuppressedReasons...)
		set.SuppressedReasons = &r
	}
	if in.TrackingOptions != nil {
		set.CustomRedirect = in.TrackingOptions.CustomRedirectDomain
	}
	for _, t := range in.Tags {
		set.Tags = append(set.Tags, store.Tag{Key: t.Key, Value: t.Value})
	}
	return nil, configSetErr(s.cfg.ConfigSets.Create(c.ctx, c.p.AccountID, c.region, set))
}

func (s *Server) v2ListConfigSets(c *call) (any, error) {
	pageSize, token, filter, err := listParams(c)
	if err != nil {
		return nil, err
	}
	limit := 1000
	if pageSize != "" {
		n, err := strconv.Atoi(pageSize)
		if err != nil || n < 1 || n > 1000 {
			return nil, errBadRequest("PageSize must be between 1 and 1000.")
		}
		limit = n
	}
	after, err := fromPageToken(token)
	if err != nil {
		return nil, err
	}
	var names []string
	for len(names) <= limit {
		batch, err := s.cfg.ConfigSets.List(c.ctx, c.p.AccountID, c.region, after, limit+1)
		if err != nil {
			return nil, err
		}
		for _, n := range batch {
			if matchesAll(n, filter) {
				names = append(names, n)
			}
		}
		if len(batch) < limit+1 {
			break
		}
		after = batch[len(batch)-1]
	}
	out := struct {
		ConfigurationSets []string
		NextToken         string `json:",omitempty"`
	}{ConfigurationSets: []string{}}
	out.ConfigurationSets, out.NextToken = cutPage(names, limit, func(n string) string { return n })
	if out.ConfigurationSets == nil {
		out.ConfigurationSets = []string{}
	}
	return out, nil
}

// matchesAll reports whether name contains every value of subs (a v2
// listing's Filter).
func matchesAll(name string, subs map[string]string) bool {
	for _, sub := range subs {
		if !strings.Contains(name, sub) {
			return false
		}
	}
	return true
}

func (s *Server) v2GetConfigSet(c *call) (any, error) {
	set, err := s.cfg.ConfigSets.Get(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name"))
	if err != nil {
		return nil, configSetErr(err)
	}
	type kv = map[string]any
	out := kv{
		"ConfigurationSetName": set.Name,
		"SendingOptions":       kv{"SendingEnabled": set.SendingEnabled},
		"ReputationOptions":    kv{"ReputationMetricsEnabled": set.ReputationMetrics},
		"DeliveryOptions":      kv{"TlsPolicy": orDefault(set.TLSPolicy, "OPTIONAL")},
	}
	if set.MaxDeliverySeconds > 0 {
		out["DeliveryOptions"].(kv)["MaxDeliverySeconds"] = set.MaxDeliverySeconds
	}
	if set.SuppressedReasons != nil {
		out["SuppressionOptions"] = kv{"SuppressedReasons": *set.SuppressedReasons}
	}
	if set.CustomRedirect != "" {
		out["TrackingOptions"] = kv{"CustomRedirectDomain": set.CustomRedirect}
	}
	tags := []v2Tag{}
	for _, t := range set.Tags {
		tags = append(tags, v2Tag{t.Key, t.Value})
	}
	out["Tags"] = tags
	return out, nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func (s *Server) v2DeleteConfigSet(c *call) (any, error) {
	return nil, configSetErr(s.cfg.ConfigSets.Delete(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name")))
}

func (s *Server) updateSet(c *call, fn func(*configsets.Set) error) (any, error) {
	return nil, configSetErr(s.cfg.ConfigSets.Update(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name"), fn))
}

func (s *Server) v2PutConfigSetSending(c *call) (any, error) {
	var in struct{ SendingEnabled bool }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return s.updateSet(c, func(set *configsets.Set) error { set.SendingEnabled = in.SendingEnabled; return nil })
}

func (s *Server) v2PutConfigSetSuppression(c *call) (any, error) {
	var in struct{ SuppressedReasons []string }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return s.updateSet(c, func(set *configsets.Set) error {
		r := append([]string{}, in.SuppressedReasons...)
		set.SuppressedReasons = &r
		return nil
	})
}

func (s *Server) v2PutConfigSetDelivery(c *call) (any, error) {
	var in struct {
		TlsPolicy          string
		SendingPoolName    string
		MaxDeliverySeconds int64
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	if in.TlsPolicy != "" && in.TlsPolicy != "REQUIRE" && in.TlsPolicy != "OPTIONAL" {
		return nil, errBadRequest("TlsPolicy must be REQUIRE or OPTIONAL.")
	}
	return s.updateSet(c, func(set *configsets.Set) error {
		set.TLSPolicy, set.SendingPoolName, set.MaxDeliverySeconds = in.TlsPolicy, in.SendingPoolName, in.MaxDeliverySeconds
		return nil
	})
}

func (s *Server) v2PutConfigSetReputation(c *call) (any, error) {
	var in struct{ ReputationMetricsEnabled bool }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return s.updateSet(c, func(set *configsets.Set) error { set.ReputationMetrics = in.ReputationMetricsEnabled; return nil })
}

type v2Destination struct {
	Enabled            bool
	MatchingEventTypes []string
	SnsDestination     *struct{ TopicArn string }
	// Destinations sesame does not publish to; named so they are refused
	// clearly rather than ignored.
	CloudWatchDestination      any `json:",omitempty"`
	KinesisFirehoseDestination any `json:",omitempty"`
	EventBridgeDestination     any `json:",omitempty"`
	PinpointDestination        any `json:",omitempty"`
}

func (d v2Destination) toDest(name string) configsets.Destination {
	out := configsets.Destination{Name: name, Enabled: d.Enabled, MatchingEventTypes: d.MatchingEventTypes}
	if d.SnsDestination != nil {
		out.SNSTopicARN = d.SnsDestination.TopicArn
	}
	return out
}

func (s *Server) v2CreateDestination(c *call) (any, error) {
	var in struct {
		EventDestinationName string
		EventDestination     v2Destination
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, configSetErr(s.cfg.ConfigSets.AddDestination(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name"), in.EventDestination.toDest(in.EventDestinationName)))
}

func (s *Server) v2UpdateDestination(c *call) (any, error) {
	var in struct{ EventDestination v2Destination }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, configSetErr(s.cfg.ConfigSets.UpdateDestination(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name"), in.EventDestination.toDest(c.r.PathValue("Dest"))))
}

func (s *Server) v2DeleteDestination(c *call) (any, error) {
	return nil, configSetErr(s.cfg.ConfigSets.DeleteDestination(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name"), c.r.PathValue("Dest")))
}

func (s *Server) v2GetDestinations(c *call) (any, error) {
	set, err := s.cfg.ConfigSets.Get(c.ctx, c.p.AccountID, c.region, c.r.PathValue("Name"))
	if err != nil {
		return nil, configSetErr(err)
	}
	type dest struct {
		Name               string
		Enabled            bool
		MatchingEventTypes []string
		SnsDestination     struct{ TopicArn string }
	}
	out := struct{ EventDestinations []dest }{[]dest{}}
	for _, d := range set.EventDestinations {
		x := dest{Name: d.Name, Enabled: d.Enabled, MatchingEventTypes: d.MatchingEventTypes}
		x.SnsDestination.TopicArn = d.SNSTopicARN
		out.EventDestinations = append(out.EventDestinations, x)
	}
	return out, nil
}

func (s *Server) v2PutAccountSuppression(c *call) (any, error) {
	var in struct{ SuppressedReasons []string }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, suppressionErr(s.cfg.Suppression.SetReasons(c.ctx, c.p.AccountID, c.region, in.SuppressedReasons))
}
