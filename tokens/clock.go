package tokens

import "time"

// MaxClockSkew is how far apart the clocks of the broker's replicas may
// be (and the README asks operators to keep them within it, with NTP).
// Wherever one replica judges a time another replica's clock wrote, it
// allows this much: an access token's iat and nbf (a replica a little
// behind must accept what a faster one just minted), the revocation
// poll's look-back, and the start of the refresh reuse grace. Expiry is
// never extended by it.
const MaxClockSkew = 30 * time.Second
