// Package audit checks an email-sending account the way receivers will
// judge its mail: every region's identities, read through the SES v2 API
// (it is an SES client, so it audits sesame and Amazon SES alike), and
// their DNS — DKIM keys, SPF (RFC 7208) on the MAIL FROM and From domains,
// the custom MAIL FROM, DMARC (RFC 7489 and the DMARCbis tree walk of RFC
// 9989), alignment, and the Gmail/Yahoo bulk-sender rules.
//
// [Auditor] runs the checks on a [Resolver] (tests point it at a loopback
// DNS server); [Run] is the driver that lists regions (EC2
// DescribeRegions), identities (ListEmailIdentities, paged) and their
// attributes (GetEmailIdentity) and hands them to an Auditor. Each check
// has a verdict (PASS, WARN, FAIL, UNKNOWN), the evidence DNS gave and a
// one-line fix. The JSON form of a [Report] is documented, and kept
// stable, in docs/AUDIT.md.
package audit
