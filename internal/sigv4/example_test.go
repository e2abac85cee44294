package sigv4_test

import (
	"fmt"

	"github.com/sesame-email/sesame/internal/sigv4"
)

// The SMTP password of an access key is derived from its secret and bound
// to one region; the legacy (version 2) password works in any region.
func ExampleSMTPPassword() {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fmt.Println(sigv4.SMTPPassword(secret, "us-east-1"))
	fmt.Println(sigv4.SMTPPassword(secret, "eu-west-1"))
	fmt.Println(sigv4.LegacySMTPPassword(secret))
	// Output:
	// BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9
	// BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk
	// An60U4ZD3sd4fg+FvXUjayOipTt8LO4rUUmhpdX6ctDy
}
