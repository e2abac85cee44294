package feedback

import (
	"regexp"
	"strings"
)

// Class is how SES names a bounce, and what sesame does about it.
type Class struct {
	// Type is Permanent, Transient or Undetermined.
	Type string
	// SubType is one of SES's subtypes for Type (reference §8).
	SubType string
	// Suppress is true for failures that say the address itself is bad:
	// only those go on the suppression list. A policy or reputation
	// rejection (5.7.x) is the sender's problem and never suppresses.
	Suppress bool
}

var statusRE = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)

// Status returns the first RFC 3463 enhanced status code in text ("5.1.1"),
// or, for a bare SMTP reply code ("550 …"), the generic class ("5.0.0").
func Status(text string) string {
	if m := statusRE.FindString(text); m != "" {
		return m
	}
	t := strings.TrimSpace(text)
	if len(t) >= 3 && (t[0] == '4' || t[0] == '5') && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' && t[2] <= '9' {
		return t[:1] + ".0.0"
	}
	return ""
}

var unknownUserRE = regexp.MustCompile(`(?i)(user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn't exist|invalid (recipient|mailbox|address)|mailbox unavailable|address rejected|recipient rejected|not found)`)

// Classify names a failure from its enhanced status code and diagnostic
// text (RFC 3463 classes; SES's types and subtypes).
//
//   - 5.1.x (bad address, unknown user, 5.1.10 null MX): Permanent/General, suppressed.
//   - 5.7.x (policy: authentication such as Gmail's 5.7.26, blocks,
//     reputation): Transient/ContentRejected, never suppressed.
//   - 5.2.2 and 4.2.2 (mailbox full): Transient/MailboxFull.
//   - 5.3.4 and 5.2.3 (too large): Transient/MessageTooLarge.
//   - Other 5.x.x: Permanent/General, suppressed only when the text says
//     the user is unknown.
//   - 4.x.x: Transient/General. No code at all: Undetermined.
func Classify(status, diagnostic string) Class {
	if status == "" {
		status = Status(diagnostic)
	}
	p := strings.SplitN(status, ".", 3)
	if len(p) != 3 {
		return Class{Type: "Undetermined", SubType: "Undetermined"}
	}
	cls, subj, detail := p[0], p[1], p[2]
	switch {
	case subj == "7":
		sub := "ContentRejected"
		if strings.Contains(strings.ToLower(diagnostic), "attachment") {
			sub = "AttachmentRejected"
		}
		return Class{Type: "Transient", SubType: sub}
	case subj == "2" && detail == "2":
		return Class{Type: "Transient", SubType: "MailboxFull"}
	case (subj == "3" && detail == "4") || (subj == "2" && detail == "3"):
		return Class{Type: "Transient", SubType: "MessageTooLarge"}
	case cls == "4":
		return Class{Type: "Transient", SubType: "General"}
	case cls == "5" && subj == "1":
		return Class{Type: "Permanent", SubType: "General", Suppress: true}
	case cls == "5":
		return Class{Type: "Permanent", SubType: "General", Suppress: unknownUserRE.MatchString(diagnostic)}
	}
	return Class{Type: "Undetermined", SubType: "Undetermined"}
}
