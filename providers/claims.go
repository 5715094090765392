package providers

import (
	"encoding/json"
	"strings"
)

// claims are the OIDC Core §5.1 standard claims the broker uses, read from
// the ID token and, for what it lacks, from the userinfo answer.
type claims struct {
	Subject           string   `json:"sub"`
	Email             string   `json:"email"`
	EmailVerified     flexBool `json:"email_verified"`
	Name              string   `json:"name"`
	Picture           string   `json:"picture"`
	PreferredUsername string   `json:"preferred_username"`
	HostedDomain      string   `json:"hd"` // Google Workspace domain
	AuthorizedParty   string   `json:"azp"`
}

func (c *claims) identity(provider string, trustEmail bool) *Identity {
	id := &Identity{
		Provider:      provider,
		Subject:       c.Subject,
		Username:      c.PreferredUsername,
		Name:          c.Name,
		Picture:       c.Picture,
		Email:         c.Email,
		EmailVerified: c.Email != "" && bool(c.EmailVerified),
		EmailTrusted:  trustEmail,
	}
	if id.EmailVerified {
		id.VerifiedEmails = []string{c.Email}
	}
	return id
}

// flexBool reads email_verified, which OIDC Core §5.1 makes a boolean but
// some issuers (AWS Cognito, older Okta) send as the string "true". Anything
// else, absence included, reads as false: an email is unverified unless the
// issuer clearly says otherwise.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = flexBool(v)
	case string:
		*b = flexBool(strings.EqualFold(v, "true"))
	default:
		*b = false
	}
	return nil
}
