// Package identity manages SES identities per (account, region): domains and
// email addresses, their Easy DKIM or BYODKIM keys, custom MAIL FROM
// domains, and the verification state machine (PENDING → SUCCESS, FAILED
// after 72 hours pending, TEMPORARY_FAILURE when a verified record
// disappears), checked against real DNS through an explicit resolver.
package identity
