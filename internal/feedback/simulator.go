package feedback

import (
	"fmt"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/simulator"
	"github.com/sesame-email/sesame/internal/store"
)

// SimulatorComplaint is the ARF report (RFC 5965) the mailbox simulator's
// complaint@ address "sends" for msg: the same bytes an ISP's feedback loop
// would mail to the MX listener.
func SimulatorComplaint(msg store.Message, rcpt string, now time.Time) []byte {
	const b = "sesame-simulator-arf"
	headers := string(msg.Data)
	if i := strings.Index(headers, "\r\n\r\n"); i >= 0 {
		headers = headers[:i+2]
	}
	var s strings.Builder
	fmt.Fprintf(&s, "From: complaints@"+simulator.AmazonDomain+"\r\nTo: %s\r\nSubject: complaint about message %s\r\n", msg.MailFrom, msg.ID)
	fmt.Fprintf(&s, "Date: %s\r\nMIME-Version: 1.0\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&s, "Content-Type: multipart/report; report-type=feedback-report; boundary=%q\r\n\r\n", b)
	fmt.Fprintf(&s, "--%s\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report from the mailbox simulator.\r\n", b)
	fmt.Fprintf(&s, "--%s\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: Amazon SES Mailbox Simulator\r\nVersion: 1\r\n", b)
	fmt.Fprintf(&s, "Original-Mail-From: <%s>\r\nOriginal-Rcpt-To: <%s>\r\nArrival-Date: %s\r\n\r\n", msg.MailFrom, rcpt, now.Format(time.RFC1123Z))
	fmt.Fprintf(&s, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n--%s--\r\n", b, headers, b)
	return []byte(s.String())
}
