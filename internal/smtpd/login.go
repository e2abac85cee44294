package smtpd

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), which SES offers beside PLAIN and which
// many appliances still use: the server asks "Username:", then
// "Password:".
type loginServer struct {
	step     int
	username string
	auth     func(username, password string) error
}

var _ sasl.Server = (*loginServer)(nil)

// Next implements sasl.Server.
func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.step {
	case 0:
		s.step++
		if len(response) > 0 { // initial response carries the user name
			s.username, s.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		s.username, s.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		s.step++
		return nil, true, s.auth(s.username, string(response))
	}
	return nil, true, errors.New("smtpd: unexpected LOGIN response")
}
