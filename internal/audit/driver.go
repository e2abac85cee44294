package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// AWSServiceDomain is Amazon SES's service domain.
const AWSServiceDomain = "amazonses.com"

// Options configure Run.
type Options struct {
	// AWS is the SDK configuration: credentials and the default region
	// (where DescribeRegions is asked). Its BaseEndpoint, if any, is the
	// endpoint every client uses.
	AWS aws.Config
	// Regions to audit; empty or ["all"] asks EC2 DescribeRegions, as the
	// seed script does.
	Regions []string
	// Identity limits the audit to one identity (a domain or an address).
	Identity string
	// Resolver answers every DNS question.
	Resolver Resolver
	// ServiceDomain overrides the service domain (amazonses.com or
	// sesame's --domain); "" decides as docs/AUDIT.md says.
	ServiceDomain string
	// Progress receives one line per step; nil for none.
	Progress io.Writer
	// PageSize is ListEmailIdentities' page size; 0 means 1000.
	PageSize int32
}

// ErrIdentityNotFound means Options.Identity is in no audited region.
var ErrIdentityNotFound = errors.New("audit: identity not found in any audited region")

// Run audits every identity of every region through the SES v2 API and
// DNS. An error means the audit could not run at all; a region that
// cannot be listed is reported in its RegionReport.
func Run(ctx context.Context, opts Options) (*Report, error) {
	d := &driver{opts: opts, r: newCache(opts.Resolver)}
	rep := &Report{Endpoint: endpointOf(opts.AWS)}
	regions, err := d.regions(ctx)
	if err != nil {
		return nil, err
	}
	var fetched []*regionData
	for _, region := range regions {
		d.progress("region %s: listing identities", region)
		rd := d.fetch(ctx, region)
		fetched = append(fetched, rd)
	}
	if opts.Identity != "" && !slices.ContainsFunc(fetched, func(rd *regionData) bool { return len(rd.ids) > 0 }) {
		if slices.ContainsFunc(fetched, func(rd *regionData) bool { return rd.err == nil }) {
			return nil, fmt.Errorf("%w: %s", ErrIdentityNotFound, opts.Identity)
		}
	}
	svc, err := d.service(ctx, fetched)
	if err != nil {
		return nil, err
	}
	rep.Service = svc
	a := &Auditor{R: d.r, Service: svc}
	var hosts *Check
	if !svc.IsAWS() {
		d.progress("checking the sending hosts of %s", svc.Domain)
		hosts = a.CheckSendingHosts(ctx)
		rep.SendingHosts = hosts
	}
	for _, rd := range fetched {
		rr := RegionReport{Region: rd.region, Identities: []IdentityReport{}}
		if rd.err != nil {
			rr.Error = rd.err.Error()
		}
		for i, id := range rd.ids {
			d.progress("region %s: [%d/%d] %s", rd.region, i+1, len(rd.ids), id.Name)
			rr.Identities = append(rr.Identities, a.Audit(ctx, id, hosts))
		}
		rep.Regions = append(rep.Regions, rr)
	}
	rep.finish()
	return rep, nil
}

func endpointOf(cfg aws.Config) string {
	if cfg.BaseEndpoint != nil {
		return *cfg.BaseEndpoint
	}
	return ""
}

type driver struct {
	opts Options
	r    *cache
}

func (d *driver) progress(format string, args ...any) {
	if d.opts.Progress != nil {
		fmt.Fprintf(d.opts.Progress, "sesame audit: "+format+"\n", args...)
	}
}

// regions returns the regions to audit.
func (d *driver) regions(ctx context.Context) ([]string, error) {
	rs := d.opts.Regions
	if len(rs) > 0 && !(len(rs) == 1 && rs[0] == "all") {
		return rs, nil
	}
	out, err := ec2.NewFromConfig(d.opts.AWS).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, fmt.Errorf("audit: DescribeRegions: %w", err)
	}
	var names []string
	for _, r := range out.Regions {
		if r.RegionName != nil {
			names = append(names, *r.RegionName)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, errors.New("audit: DescribeRegions returned no regions")
	}
	return names, nil
}

// regionData is what the API said about one region.
type regionData struct {
	region string
	err    error
	ids    []Identity // the identities to audit
	zones  []string   // SigningHostedZone values seen
	tokens []string   // "<token>._domainkey.<domain>" of Easy DKIM identities
}

// fetch lists a region's identities (v2, paged) and gets the attributes
// of those to audit and of the domains their addresses inherit from.
func (d *driver) fetch(ctx context.Context, region string) *regionData {
	rd := &regionData{region: region}
	client := sesv2.NewFromConfig(d.opts.AWS, func(o *sesv2.Options) { o.Region = region })
	var names []string
	kinds := map[string]string{}
	size := d.opts.PageSize
	if size <= 0 {
		size = 1000
	}
	p := sesv2.NewListEmailIdentitiesPaginator(client, &sesv2.ListEmailIdentitiesInput{PageSize: aws.Int32(size)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			rd.err = fmt.Errorf("ListEmailIdentities: %w", err)
			return rd
		}
		for _, id := range page.EmailIdentities {
			n := aws.ToString(id.IdentityName)
			names = append(names, n)
			kinds[strings.ToLower(n)] = string(id.IdentityType)
		}
	}
	got := map[string]*sesv2.GetEmailIdentityOutput{}
	get := func(name string) (*sesv2.GetEmailIdentityOutput, error) {
		if o, ok := got[strings.ToLower(name)]; ok {
			return o, nil
		}
		o, err := client.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("GetEmailIdentity %s: %w", name, err)
		}
		got[strings.ToLower(name)] = o
		return o, nil
	}
	for _, name := range names {
		if d.opts.Identity != "" && !strings.EqualFold(name, d.opts.Identity) {
			continue
		}
		o, err := get(name)
		if err != nil {
			rd.err = err
			return rd
		}
		id := identityFrom(region, name, o)
		if id.Type == TypeDomain {
			id.SigningDomain = canon(name)
		} else if sd := nearestDomain(id.FromDomain(), kinds); sd != "" {
			id.SigningDomain = sd
			if dom, err := get(sd); err == nil {
				parent := identityFrom(region, sd, dom)
				if len(id.DKIM.Tokens) == 0 {
					enabled := id.DKIM.SigningEnabled
					id.DKIM = parent.DKIM
					id.DKIM.SigningEnabled = enabled && parent.DKIM.SigningEnabled
				}
				if id.MailFrom.Domain == "" {
					id.MailFrom = parent.MailFrom
				}
			}
		}
		rd.ids = append(rd.ids, id)
	}
	for _, o := range got {
		if a := o.DkimAttributes; a != nil && a.SigningAttributesOrigin == sesv2types.DkimSigningAttributesOriginAwsSes {
			if z := aws.ToString(a.SigningHostedZone); z != "" {
				rd.zones = append(rd.zones, canon(z))
			}
		}
	}
	for _, id := range rd.ids {
		if id.Type == TypeDomain && id.DKIM.Origin == string(sesv2types.DkimSigningAttributesOriginAwsSes) {
			for _, t := range id.DKIM.Tokens {
				rd.tokens = append(rd.tokens, t+"._domainkey."+canon(id.Name))
			}
		}
	}
	return rd
}

// nearestDomain returns the identity among domain and its parents that
// is a domain identity (the one an address inherits DKIM from, reference
// §9 inheritance), "" when none.
func nearestDomain(domain string, kinds map[string]string) string {
	labels := strings.Split(canon(domain), ".")
	for i := 0; i < len(labels)-1; i++ {
		d := strings.Join(labels[i:], ".")
		if kinds[d] == TypeDomain {
			return d
		}
	}
	return ""
}

func identityFrom(region, name string, o *sesv2.GetEmailIdentityOutput) Identity {
	id := Identity{Region: region, Name: name, Type: string(o.IdentityType), VerificationStatus: string(o.VerificationStatus), Verified: o.VerifiedForSendingStatus}
	if a := o.DkimAttributes; a != nil {
		id.DKIM = DKIMAttributes{SigningEnabled: a.SigningEnabled, Status: string(a.Status), Origin: string(a.SigningAttributesOrigin),
			Tokens: a.Tokens, HostedZone: aws.ToString(a.SigningHostedZone), KeyLength: string(a.CurrentSigningKeyLength)}
	}
	if m := o.MailFromAttributes; m != nil {
		id.MailFrom = MailFromAttributes{Domain: aws.ToString(m.MailFromDomain), Status: string(m.MailFromDomainStatus), Behavior: string(m.BehaviorOnMxFailure)}
	}
	return id
}

// service decides the sending service (docs/AUDIT.md): --service-domain;
// Amazon SES for AWS endpoints; otherwise sesame, whose domain is the
// SigningHostedZone the API reports, or else what the identities' DKIM
// CNAMEs point into.
func (d *driver) service(ctx context.Context, fetched []*regionData) (Service, error) {
	if sd := canon(d.opts.ServiceDomain); sd != "" {
		kind := KindSesame
		if sd == AWSServiceDomain {
			kind = KindAWS
		}
		return Service{Domain: sd, Kind: kind, Source: "--service-domain"}, nil
	}
	if isAWSEndpoint(endpointOf(d.opts.AWS)) {
		return Service{Domain: AWSServiceDomain, Kind: KindAWS, Source: "AWS endpoint"}, nil
	}
	for _, rd := range fetched {
		for _, z := range rd.zones {
			if z == AWSServiceDomain {
				return Service{Domain: z, Kind: KindAWS, Source: "SigningHostedZone"}, nil
			}
			return Service{Domain: z, Kind: KindSesame, Source: "SigningHostedZone"}, nil
		}
	}
	for _, rd := range fetched {
		for _, name := range rd.tokens {
			target, err := d.r.LookupCNAME(ctx, name)
			tok, _, _ := strings.Cut(name, ".")
			if rest, ok := strings.CutPrefix(canon(target), tok+".dkim."); err == nil && ok && rest != "" {
				kind := KindSesame
				if strings.HasSuffix(rest, AWSServiceDomain) {
					kind, rest = KindAWS, AWSServiceDomain
				}
				return Service{Domain: rest, Kind: kind, Source: "DKIM CNAME " + name}, nil
			}
		}
	}
	for _, rd := range fetched {
		if len(rd.ids) > 0 {
			return Service{}, errors.New("audit: cannot tell the service domain from the API or DNS; pass --service-domain")
		}
	}
	return Service{Domain: AWSServiceDomain, Kind: KindAWS, Source: "default (no identities)"}, nil
}

// isAWSEndpoint reports whether an endpoint URL is Amazon's ("" is the
// SDK's default, which is).
func isAWSEndpoint(endpoint string) bool {
	if endpoint == "" {
		return true
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn") || strings.HasSuffix(h, ".api.aws")
}
