package audit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SPF limits of RFC 7208 §4.6.4.
const (
	// SPFMaxLookups is the most DNS-querying terms (include, a, mx, ptr,
	// exists, redirect) one evaluation may use; the 11th is a permerror.
	SPFMaxLookups = 10
	// SPFMaxVoid is the most void lookups (NXDOMAIN, or NOERROR with no
	// answer) one evaluation may meet; the third is a permerror.
	SPFMaxVoid = 2
	// spfMaxMX is the most MX records an mx mechanism may return.
	spfMaxMX = 10
	// spfWalkLimit stops a walk that has gone far past the limits (an
	// include loop), so it ends.
	spfWalkLimit = 40
)

// SPFTerm is one term of an SPF record (RFC 7208 §4.6.1).
type SPFTerm struct {
	// Raw is the term as written.
	Raw string
	// Modifier is set for name=value terms (RFC 7208 §6).
	Modifier bool
	// Qualifier is '+', '-', '~' or '?' for mechanisms ('+' when none is
	// written, RFC 7208 §4.6.2); 0 for modifiers.
	Qualifier byte
	// Name is the mechanism or modifier name, lowercase.
	Name string
	// Value is the domain-spec, address or modifier value, without the
	// CIDR lengths; "" when the term has none.
	Value string
	// CIDR4 and CIDR6 are the dual-cidr-length of a, mx, ip4 and ip6
	// (RFC 7208 §5.6); -1 when not written.
	CIDR4, CIDR6 int
}

// HasMacro reports whether the term's value uses macros (RFC 7208 §7)
// other than the literal escapes, so it cannot be evaluated without a
// message.
func (t SPFTerm) HasMacro() bool {
	v := strings.NewReplacer("%%", "", "%_", "", "%-", "").Replace(t.Value)
	return strings.Contains(v, "%")
}

// SPFRecord is a parsed SPF record.
type SPFRecord struct {
	Terms []SPFTerm
}

// Modifier returns the value of the named modifier and whether it is
// present.
func (r *SPFRecord) Modifier(name string) (string, bool) {
	for _, t := range r.Terms {
		if t.Modifier && t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// IsSPF reports whether a TXT record is an SPF record: "v=spf1" followed
// by a space or the end (RFC 7208 §4.5), case-insensitively.
func IsSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// ParseSPF parses an SPF record (RFC 7208 §4.5, §12). A syntax error is
// what receivers report as permerror.
func ParseSPF(txt string) (*SPFRecord, error) {
	if !IsSPF(txt) {
		return nil, errors.New("not an SPF record: it must start with \"v=spf1\"")
	}
	rec := &SPFRecord{}
	seen := map[string]bool{}
	for _, raw := range strings.Split(txt[6:], " ") {
		if raw == "" {
			continue
		}
		t, err := parseSPFTerm(raw)
		if err != nil {
			return nil, fmt.Errorf("term %q: %w", raw, err)
		}
		if t.Modifier && (t.Name == "redirect" || t.Name == "exp") {
			// RFC 7208 §6: each at most once.
			if seen[t.Name] {
				return nil, fmt.Errorf("%s= appears twice (RFC 7208 §6)", t.Name)
			}
			seen[t.Name] = true
		}
		rec.Terms = append(rec.Terms, t)
	}
	return rec, nil
}

func parseSPFTerm(raw string) (SPFTerm, error) {
	t := SPFTerm{Raw: raw, CIDR4: -1, CIDR6: -1}
	// A modifier is name "=" value where name = ALPHA *( ALPHA / DIGIT /
	// "-" / "_" / "." ) (RFC 7208 §12).
	if i := strings.IndexByte(raw, '='); i > 0 && validModifierName(raw[:i]) {
		t.Modifier, t.Name, t.Value = true, strings.ToLower(raw[:i]), raw[i+1:]
		if err := checkMacroString(t.Value); err != nil {
			return t, err
		}
		if (t.Name == "redirect" || t.Name == "exp") && t.Value == "" {
			return t, errors.New("empty domain-spec")
		}
		return t, nil
	}
	s := raw
	t.Qualifier = '+'
	if strings.ContainsRune("+-~?", rune(s[0])) {
		t.Qualifier, s = s[0], s[1:]
	}
	name, arg := s, ""
	hasArg := false
	if i := strings.IndexAny(s, ":/"); i >= 0 {
		name, arg = s[:i], s[i:]
		hasArg = true
	}
	t.Name = strings.ToLower(name)
	switch t.Name {
	case "all":
		if hasArg {
			return t, errors.New("all takes no argument")
		}
	case "include", "exists":
		if !strings.HasPrefix(arg, ":") || len(arg) < 2 {
			return t, errors.New(t.Name + " needs \":domain\"")
		}
		t.Value = arg[1:]
		if err := checkDomainSpec(t.Value); err != nil {
			return t, err
		}
	case "a", "mx":
		spec, cidr := splitCIDR(arg)
		if strings.HasPrefix(spec, ":") {
			t.Value = spec[1:]
			if err := checkDomainSpec(t.Value); err != nil {
				return t, err
			}
		} else if spec != "" {
			return t, errors.New("unexpected " + strconv.Quote(spec))
		}
		if err := t.parseDualCIDR(cidr); err != nil {
			return t, err
		}
	case "ptr":
		if arg != "" {
			if !strings.HasPrefix(arg, ":") {
				return t, errors.New("ptr takes \":domain\"")
			}
			t.Value = arg[1:]
			if err := checkDomainSpec(t.Value); err != nil {
				return t, err
			}
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(arg, ":") {
			return t, errors.New(t.Name + " needs \":address\"")
		}
		addr, length, hasLen := strings.Cut(arg[1:], "/")
		ip, err := netip.ParseAddr(addr)
		if err != nil || ip.Zone() != "" || (t.Name == "ip4") != ip.Is4() {
			return t, errors.New("bad " + t.Name + " address " + strconv.Quote(addr))
		}
		t.Value = addr
		if hasLen {
			maxLen := 32
			if t.Name == "ip6" {
				maxLen = 128
			}
			n, err := cidrLen(length, maxLen)
			if err != nil {
				return t, err
			}
			if t.Name == "ip4" {
				t.CIDR4 = n
			} else {
				t.CIDR6 = n
			}
		}
	default:
		// RFC 7208 §4.6.1: an unknown mechanism is a permerror.
		return t, errors.New("unknown mechanism " + strconv.Quote(name))
	}
	return t, nil
}

func validModifierName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '-' || c == '_' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// splitCIDR splits "…/24//64" into the part before the first "/" and the
// dual-cidr-length.
func splitCIDR(arg string) (spec, cidr string) {
	// A domain-spec may not contain "/" (RFC 7208 §12 macro-string is
	// visible characters other than "%" handled as macros, but the
	// mechanism's own grammar puts the CIDR after the last domain label).
	if i := strings.IndexByte(arg, '/'); i >= 0 {
		return arg[:i], arg[i:]
	}
	return arg, ""
}

func (t *SPFTerm) parseDualCIDR(s string) error {
	if s == "" {
		return nil
	}
	v4, v6, hasV6 := strings.Cut(s, "//")
	if hasV6 {
		n, err := cidrLen(v6, 128)
		if err != nil {
			return err
		}
		t.CIDR6 = n
	}
	if v4 != "" {
		if !strings.HasPrefix(v4, "/") {
			return errors.New("bad CIDR length " + strconv.Quote(s))
		}
		n, err := cidrLen(v4[1:], 32)
		if err != nil {
			return err
		}
		t.CIDR4 = n
	}
	return nil
}

// cidrLen parses a CIDR length: no leading zeros, at most maxLen (RFC
// 7208 §12 ip4-cidr-length, ip6-cidr-length).
func cidrLen(s string, maxLen int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxLen || (len(s) > 1 && s[0] == '0') || strings.HasPrefix(s, "+") {
		return 0, errors.New("bad CIDR length " + strconv.Quote(s))
	}
	return n, nil
}

// checkMacroString checks a macro-string (RFC 7208 §7.1): "%" is followed
// by "%", "_", "-" or a "{letter digits r delimiters}" expansion.
func checkMacroString(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("invalid character %q", c)
		}
		if c != '%' {
			continue
		}
		if i+1 >= len(s) {
			return errors.New("\"%\" at the end")
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return errors.New("unclosed macro")
			}
			body := s[i+2 : i+end]
			if body == "" || !strings.ContainsRune("slodiphcrtvSLODIPHCRTV", rune(body[0])) {
				return fmt.Errorf("bad macro %q", s[i:i+end+1])
			}
			for _, d := range body[1:] {
				if !('0' <= d && d <= '9' || d == 'r' || d == 'R' || strings.ContainsRune(".-+,/_=", d)) {
					return fmt.Errorf("bad macro %q", s[i:i+end+1])
				}
			}
			i += end
		default:
			return fmt.Errorf("bad macro %q", s[i:i+2])
		}
	}
	return nil
}

// checkDomainSpec checks a domain-spec: a macro-string that, when it has
// no macros, ends in a top label that is not all digits (RFC 7208 §7.1
// domain-end, toplabel).
func checkDomainSpec(s string) error {
	if err := checkMacroString(s); err != nil {
		return err
	}
	if strings.Contains(s, "%") {
		return nil
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is not a domain name", s)
	}
	top := labels[len(labels)-1]
	alpha := false
	for _, c := range top {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			alpha = true
		case '0' <= c && c <= '9', c == '-':
		default:
			return fmt.Errorf("%q is not a domain name", s)
		}
	}
	if !alpha || top[0] == '-' || top[len(top)-1] == '-' {
		return fmt.Errorf("%q is not a domain name", s)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("%q is not a domain name", s)
		}
	}
	return nil
}

// SPFResult is what walking a domain's SPF record found: every record of
// the include/redirect tree, the DNS-querying terms and void lookups a
// receiver would count for a sender that no term matches (the most a
// receiver evaluates, RFC 7208 §4.6.4), and the errors it would report.
type SPFResult struct {
	// Domain is the domain whose record was walked.
	Domain string
	// Record is the domain's own SPF record; "" when it has none.
	Record string
	// Records counts the SPF records at Domain (more than one is a
	// permerror, RFC 7208 §4.5).
	Records int
	// Lookups counts the DNS-querying terms met (RFC 7208 §4.6.4).
	Lookups int
	// Voids counts void lookups (RFC 7208 §4.6.4).
	Voids int
	// Evidence lists what DNS answered, one line per record or term.
	Evidence []string
	// PermErrors are reasons receivers would answer permerror.
	PermErrors []string
	// TempErrors are DNS failures (temperror, RFC 7208 §2.6.6).
	TempErrors []string
	// PlusAll names the records of the tree that end in "+all" (or a
	// bare "all"), which pass every sender.
	PlusAll []string
	// Included lists every domain reached through include or redirect,
	// lowercase, without a trailing dot.
	Included []string
	// Unevaluated lists terms with macros, which need a message to expand.
	Unevaluated []string
}

// Includes reports whether the tree reaches domain d (or is d's own).
func (r *SPFResult) Includes(d string) bool {
	d = canon(d)
	if canon(r.Domain) == d {
		return true
	}
	for _, x := range r.Included {
		if x == d {
			return true
		}
	}
	return false
}

// WalkSPF fetches domain's SPF record and walks its include/redirect tree
// the way a receiver evaluates it for a sender no term matches, counting
// lookups and void lookups (RFC 7208 §4.6.4). a, mx and exists targets
// are looked up to count void lookups; ptr is counted but not evaluated.
func WalkSPF(ctx context.Context, r Resolver, domain string) *SPFResult {
	res := &SPFResult{Domain: canon(domain)}
	w := &spfWalker{r: r, res: res}
	rec, n, err := w.fetch(ctx, res.Domain)
	res.Records = n
	switch {
	case err != nil:
		res.TempErrors = append(res.TempErrors, fmt.Sprintf("TXT %s: %v", res.Domain, err))
		return res
	case n == 0:
		return res
	case n > 1:
		res.PermErrors = append(res.PermErrors, fmt.Sprintf("%d SPF records at %s (RFC 7208 §4.5 allows one)", n, res.Domain))
		return res
	}
	res.Record = rec
	w.walk(ctx, res.Domain, rec, 0)
	if res.Lookups > SPFMaxLookups {
		res.PermErrors = append(res.PermErrors, fmt.Sprintf("%d DNS-querying terms (RFC 7208 §4.6.4 allows %d)", res.Lookups, SPFMaxLookups))
	}
	if res.Voids > SPFMaxVoid {
		res.PermErrors = append(res.PermErrors, fmt.Sprintf("%d void lookups (RFC 7208 §4.6.4 allows %d)", res.Voids, SPFMaxVoid))
	}
	return res
}

type spfWalker struct {
	r   Resolver
	res *SPFResult
}

// fetch returns the one SPF record at domain and how many there are.
func (w *spfWalker) fetch(ctx context.Context, domain string) (string, int, error) {
	txts, err := w.r.LookupTXT(ctx, domain)
	if err != nil {
		if isNotFound(err) {
			return "", 0, nil
		}
		return "", 0, err
	}
	var spfs []string
	for _, t := range txts {
		if IsSPF(t) {
			spfs = append(spfs, t)
			w.res.Evidence = append(w.res.Evidence, fmt.Sprintf("TXT %s: %q", domain, t))
		}
	}
	if len(spfs) == 1 {
		return spfs[0], 1, nil
	}
	return "", len(spfs), nil
}

func (w *spfWalker) perm(format string, args ...any) {
	w.res.PermErrors = append(w.res.PermErrors, fmt.Sprintf(format, args...))
}

func (w *spfWalker) walk(ctx context.Context, domain, txt string, depth int) {
	rec, err := ParseSPF(txt)
	if err != nil {
		w.perm("SPF record at %s: %v", domain, err)
		return
	}
	hasAll := false
	for _, t := range rec.Terms {
		if !t.Modifier && t.Name == "all" {
			hasAll = true
			if t.Qualifier == '+' {
				w.res.PlusAll = append(w.res.PlusAll, domain)
			}
		}
	}
	for _, t := range rec.Terms {
		if w.res.Lookups >= spfWalkLimit {
			return
		}
		if t.Modifier {
			continue
		}
		switch t.Name {
		case "include", "a", "mx", "ptr", "exists":
			w.res.Lookups++
		default:
			continue
		}
		if t.HasMacro() {
			w.res.Unevaluated = append(w.res.Unevaluated, t.Raw+" (in "+domain+")")
			continue
		}
		target := canon(t.Value)
		if target == "" {
			target = domain
		}
		switch t.Name {
		case "include":
			w.follow(ctx, "include:"+target, target, depth)
		case "a", "exists":
			_, err := w.r.LookupIPAddr(ctx, target)
			w.lookedUp(t.Raw, domain, err)
		case "mx":
			mxs, err := w.r.LookupMX(ctx, target)
			if err == nil && len(mxs) == 0 {
				err = errVoid
			}
			w.lookedUp(t.Raw, domain, err)
			if len(mxs) > spfMaxMX {
				w.perm("%s in %s: %d MX records (RFC 7208 §4.6.4 allows %d)", t.Raw, domain, len(mxs), spfMaxMX)
			}
		case "ptr":
			w.res.Evidence = append(w.res.Evidence, fmt.Sprintf("%s in %s: counted, not evaluated (ptr is deprecated, RFC 7208 §5.5)", t.Raw, domain))
		}
	}
	// RFC 7208 §6.1: redirect applies when no mechanism matched, and is
	// ignored when the record has an "all".
	if target, ok := rec.Modifier("redirect"); ok && !hasAll && w.res.Lookups < spfWalkLimit {
		w.res.Lookups++
		if strings.Contains(strings.NewReplacer("%%", "", "%_", "", "%-", "").Replace(target), "%") {
			w.res.Unevaluated = append(w.res.Unevaluated, "redirect="+target+" (in "+domain+")")
			return
		}
		w.follow(ctx, "redirect="+canon(target), canon(target), depth)
	}
}

var errVoid = errors.New("no records")

// lookedUp counts a void lookup or records a temperror for a term.
func (w *spfWalker) lookedUp(term, domain string, err error) {
	switch {
	case err == nil:
		w.res.Evidence = append(w.res.Evidence, fmt.Sprintf("%s in %s: answered", term, domain))
	case err == errVoid || isNotFound(err):
		w.res.Voids++
		w.res.Evidence = append(w.res.Evidence, fmt.Sprintf("%s in %s: void lookup (%v)", term, domain, err))
	default:
		w.res.TempErrors = append(w.res.TempErrors, fmt.Sprintf("%s in %s: %v", term, domain, err))
	}
}

// follow walks the record of an include or redirect target.
func (w *spfWalker) follow(ctx context.Context, term, target string, depth int) {
	w.res.Included = append(w.res.Included, target)
	rec, n, err := w.fetch(ctx, target)
	switch {
	case err != nil:
		w.res.TempErrors = append(w.res.TempErrors, fmt.Sprintf("%s: %v", term, err))
	case n == 0:
		// RFC 7208 §5.2 (include) and §6.1 (redirect): no record → permerror.
		w.perm("%s: %s has no SPF record", term, target)
	case n > 1:
		w.perm("%s: %d SPF records at %s", term, n, target)
	default:
		w.walk(ctx, target, rec, depth+1)
	}
}
