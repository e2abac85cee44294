// Package simulator names the mailbox simulator's domains (reference §6):
// simulator.D, sesame's own, and SES's simulator.amazonses.com, so code
// written against SES's simulator addresses works unchanged. Every package
// that must tell simulator mail apart asks here.
package simulator

import "strings"

// AmazonDomain is SES's simulator domain.
const AmazonDomain = "simulator.amazonses.com"

// Domains returns the simulator domains for service domain d.
func Domains(d string) []string { return []string{"simulator." + d, AmazonDomain} }

// Is reports whether addr is at a simulator domain for service domain d
// (case-insensitive).
func Is(addr, d string) bool {
	dom := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	return dom == "simulator."+strings.ToLower(d) || dom == AmazonDomain
}
