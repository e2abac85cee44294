package sesapi

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/events"
	"github.com/sesame-email/sesame/internal/store"
)

func (s *Server) v1ConfigSetOps(ops map[string]v1Op) {
	ops["CreateConfigurationSet"] = s.v1CreateConfigSet
	ops["DeleteConfigurationSet"] = s.v1DeleteConfigSet
	ops["DescribeConfigurationSet"] = s.v1DescribeConfigSet
	ops["ListConfigurationSets"] = s.v1ListConfigSets
	ops["CreateConfigurationSetEventDestination"] = s.v1CreateDestination
	ops["UpdateConfigurationSetEventDestination"] = s.v1UpdateDestination
	ops["DeleteConfigurationSetEventDestination"] = s.v1DeleteDestination
	ops["SetIdentityNotificationTopic"] = s.v1SetNotificationTopic
	ops["SetIdentityFeedbackForwardingEnabled"] = s.v1SetForwarding
	ops["SetIdentityHeadersInNotificationsEnabled"] = s.v1SetHeadersInNotifications
	ops["GetIdentityNotificationAttributes"] = s.v1GetNotificationAttributes
}

func (s *Server) v1CreateConfigSet(c *call) (func(*xmlw), error) {
	name := c.form.Get("ConfigurationSet.Name")
	if name == "" {
		return nil, errMissingParam("ConfigurationSet.Name")
	}
	return nil, configSetErr(s.cfg.ConfigSets.Create(c.ctx, c.p.AccountID, c.region, configsets.Set{Name: name, SendingEnabled: true}))
}

func (s *Server) v1DeleteConfigSet(c *call) (func(*xmlw), error) {
	return nil, configSetErr(s.cfg.ConfigSets.Delete(c.ctx, c.p.AccountID, c.region, c.form.Get("ConfigurationSetName")))
}

func (s *Server) v1DescribeConfigSet(c *call) (func(*xmlw), error) {
	set, err := s.cfg.ConfigSets.Get(c.ctx, c.p.AccountID, c.region, c.form.Get("ConfigurationSetName"))
	if err != nil {
		return nil, configSetErr(err)
	}
	return func(x *xmlw) {
		x.open("ConfigurationSet")
		x.elem("Name", set.Name)
		x.close("ConfigurationSet")
		x.open("EventDestinations")
		for _, d := range set.EventDestinations {
			x.open("member")
			x.elem("Name", d.Name)
			x.bool("Enabled", d.Enabled)
			x.open("MatchingEventTypes")
			for _, t := range d.MatchingEventTypes {
				x.elem("member", configsets.ToV1(t))
			}
			x.close("MatchingEventTypes")
			x.open("SNSDestination")
			x.elem("TopicARN", d.SNSTopicARN)
			x.close("SNSDestination")
			x.close("member")
		}
		x.close("EventDestinations")
		x.open("DeliveryOptions")
		x.elem("TlsPolicy", strings.ToUpper(orDefault(set.TLSPolicy, "OPTIONAL"))[:1]+strings.ToLower(orDefault(set.TLSPolicy, "OPTIONAL"))[1:])
		x.close("DeliveryOptions")
		x.open("ReputationOptions")
		x.bool("SendingEnabled", set.SendingEnabled)
		x.bool("ReputationMetricsEnabled", set.ReputationMetrics)
		x.close("ReputationOptions")
	}, nil
}

func (s *Server) v1ListConfigSets(c *call) (func(*xmlw), error) {
	limit := 1000
	if v := c.form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errBadRequest("MaxItems must be a positive number.")
		}
		limit = min(n, 1000)
	}
	names, err := s.cfg.ConfigSets.List(c.ctx, c.p.AccountID, c.region, c.form.Get("NextToken"), limit+1)
	if err != nil {
		return nil, err
	}
	names, next := cutPage(names, limit, func(n string) string { return n })
	return func(x *xmlw) {
		x.open("ConfigurationSets")
		for _, n := range names {
			x.open("member")
			x.elem("Name", n)
			x.close("member")
		}
		x.close("ConfigurationSets")
		if next != "" {
			x.elem("NextToken", next)
		}
	}, nil
}

// v1Destination reads EventDestination.* parameters.
func v1Destination(c *call) (configsets.Destination, error) {
	d := configsets.Destination{Name: c.form.Get("EventDestination.Name"), Enabled: c.form.Get("EventDestination.Enabled") == "true",
		SNSTopicARN: c.form.Get("EventDestination.SNSDestination.TopicARN")}
	for _, t := range v1Members(c, "EventDestination.MatchingEventTypes") {
		v2, ok := configsets.FromV1(t)
		if !ok {
			return d, errBadRequest("Invalid event type %q.", t)
		}
		d.MatchingEventTypes = append(d.MatchingEventTypes, v2)
	}
	return d, nil
}

func (s *Server) v1CreateDestination(c *call) (func(*xmlw), error) {
	d, err := v1Destination(c)
	if err != nil {
		return nil, err
	}
	return nil, configSetErr(s.cfg.ConfigSets.AddDestination(c.ctx, c.p.AccountID, c.region, c.form.Get("ConfigurationSetName"), d))
}

func (s *Server) v1UpdateDestination(c *call) (func(*xmlw), error) {
	d, err := v1Destination(c)
	if err != nil {
		return nil, err
	}
	return nil, configSetErr(s.cfg.ConfigSets.UpdateDestination(c.ctx, c.p.AccountID, c.region, c.form.Get("ConfigurationSetName"), d))
}

func (s *Server) v1DeleteDestination(c *call) (func(*xmlw), error) {
	return nil, configSetErr(s.cfg.ConfigSets.DeleteDestination(c.ctx, c.p.AccountID, c.region, c.form.Get("ConfigurationSetName"), c.form.Get("EventDestinationName")))
}

// notifyIdentity changes an identity's notification settings.
func (s *Server) notifyIdentity(c *call, fn func(*store.Identity) error) (func(*xmlw), error) {
	name := c.form.Get("Identity")
	if name == "" {
		return nil, errMissingParam("Identity")
	}
	return nil, identityErr(s.cfg.Identities.UpdateNotifications(c.ctx, c.p.AccountID, c.region, strings.ToLower(name), fn))
}

func (s *Server) v1SetNotificationTopic(c *call) (func(*xmlw), error) {
	topic := c.form.Get("SnsTopic")
	if topic != "" {
		if _, err := s.cfg.SNS.GetTopic(c.ctx, c.p.AccountID, c.region, topic); err != nil {
			return nil, apiErr(400, "InvalidParameterValue", "Invalid SNS topic: %s", topic)
		}
	}
	typ := c.form.Get("NotificationType")
	return s.notifyIdentity(c, func(id *store.Identity) error {
		switch typ {
		case "Bounce":
			id.Notifications.BounceTopic = topic
		case "Complaint":
			id.Notifications.ComplaintTopic = topic
		case "Delivery":
			id.Notifications.DeliveryTopic = topic
		default:
			return errBadRequest("NotificationType must be Bounce, Complaint or Delivery.")
		}
		return nil
	})
}

func (s *Server) v1SetForwarding(c *call) (func(*xmlw), error) {
	on, err := v1Bool(c, "ForwardingEnabled", true)
	if err != nil {
		return nil, err
	}
	return s.notifyIdentity(c, func(id *store.Identity) error {
		// SES refuses to turn forwarding off unless bounces and complaints
		// go to topics: they must reach someone.
		if !on && (id.Notifications.BounceTopic == "" || id.Notifications.ComplaintTopic == "") {
			return errBadRequest("Feedback notification topic not set for bounce and complaint; cannot disable feedback forwarding.")
		}
		id.FeedbackForwarding = on
		return nil
	})
}

func (s *Server) v1SetHeadersInNotifications(c *call) (func(*xmlw), error) {
	on, err := v1Bool(c, "Enabled", true)
	if err != nil {
		return nil, err
	}
	typ := c.form.Get("NotificationType")
	return s.notifyIdentity(c, func(id *store.Identity) error {
		switch typ {
		case "Bounce":
			id.Notifications.HeadersInBounce = on
		case "Complaint":
			id.Notifications.HeadersInComplaint = on
		case "Delivery":
			id.Notifications.HeadersInDelivery = on
		default:
			return errBadRequest("NotificationType must be Bounce, Complaint or Delivery.")
		}
		return nil
	})
}

func (s *Server) v1GetNotificationAttributes(c *call) (func(*xmlw), error) {
	var found []store.Identity
	for _, name := range v1Members(c, "Identities") {
		id, err := s.cfg.Identities.Get(c.ctx, c.p.AccountID, c.region, strings.ToLower(name))
		if err != nil {
			continue // unknown identities are left out (reference §3)
		}
		found = append(found, id)
	}
	return func(x *xmlw) {
		x.open("NotificationAttributes")
		for _, id := range found {
			n := id.Notifications
			x.open("entry")
			x.elem("key", id.Name)
			x.open("value")
			x.elem("BounceTopic", n.BounceTopic)
			x.elem("ComplaintTopic", n.ComplaintTopic)
			x.elem("DeliveryTopic", n.DeliveryTopic)
			x.bool("ForwardingEnabled", id.FeedbackForwarding)
			x.bool("HeadersInBounceNotificationsEnabled", n.HeadersInBounce)
			x.bool("HeadersInComplaintNotificationsEnabled", n.HeadersInComplaint)
			x.bool("HeadersInDeliveryNotificationsEnabled", n.HeadersInDelivery)
			x.close("value")
			x.close("entry")
		}
		x.close("NotificationAttributes")
	}, nil
}

// sendStats merges the queue's accepted counts with the events' bounce,
// complaint and reject counts into SES's 15-minute data points.
func (s *Server) sendStats(c *call) ([]statPoint, error) {
	since := s.cfg.Clock.Now().Add(-14 * 24 * time.Hour)
	sent, err := s.cfg.Queue.Stats(c.ctx, c.p.AccountID, c.region, since)
	if err != nil {
		return nil, err
	}
	evs, err := s.cfg.Events.EventCounts(c.ctx, c.p.AccountID, c.region, since)
	if err != nil {
		return nil, err
	}
	points := map[int64]*statPoint{}
	at := func(t time.Time) *statPoint {
		p, ok := points[t.UnixMilli()]
		if !ok {
			p = &statPoint{Start: t}
			points[t.UnixMilli()] = p
		}
		return p
	}
	for _, b := range sent {
		if b.Sent > 0 { // a bucket with deliveries only is no data point of SES's
			at(b.Start).Attempts += b.Sent
		}
	}
	for _, b := range evs {
		p := at(b.Start)
		p.Bounces += b.Counts[events.Bounce]
		p.Complaints += b.Counts[events.Complaint]
		p.Rejects += b.Counts[events.Reject]
	}
	out := make([]statPoint, 0, len(points))
	for _, p := range points {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b statPoint) int { return a.Start.Compare(b.Start) })
	return out, nil
}

type statPoint struct {
	Start                                  time.Time
	Attempts, Bounces, Complaints, Rejects int
}
