package smtpd

import (
	"net"
	"time"
)

// MaxSession bounds one SMTP session's total time, however active: a slow
// client trickling one command at a time still ends. go-smtp re-arms read
// and write deadlines for each command, so the cap is applied by clamping
// every deadline the server sets to the session's end.
const MaxSession = 30 * time.Minute

// cappedListener hands out connections whose deadlines never pass end.
type cappedListener struct {
	net.Listener
	max time.Duration
}

func (l cappedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	end := time.Now().Add(l.max)
	c.SetDeadline(end)
	return &cappedConn{Conn: c, end: end}, nil
}

type cappedConn struct {
	net.Conn
	end time.Time
}

func (c *cappedConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.end) {
		return c.end
	}
	return t
}

func (c *cappedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *cappedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *cappedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }
