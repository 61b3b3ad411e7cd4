package term

import "errors"

// ErrNoTerminal is returned when a prompt needs a terminal and there is none.
var ErrNoTerminal = errors.New("no terminal to ask on (signing runs on the responder's workstation)")

// ReadSecret is not offered on Windows: sign on a Linux or macOS
// workstation, or use an agent.
func ReadSecret(prompt string) ([]byte, error) { return nil, ErrNoTerminal }

// Confirm is not offered on Windows; pass --yes.
func Confirm(prompt string) (bool, error) { return false, ErrNoTerminal }
