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
	// Groups: an OIDC provider's groups claim (GitLab, Okta, Keycloak...).
	Groups flexStrings `json:"groups"`
	// Microsoft Entra ID: directory (tenant) id, object id, and whether
	// the email's domain is verified by the directory's owner.
	TenantID               string   `json:"tid"`
	ObjectID               string   `json:"oid"`
	EmailDomainOwnerVerify flexBool `json:"xms_edov"`
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
	if len(c.Groups) > 0 {
		id.Groups = []string(c.Groups)
	}
	return id
}

// maxGroups bounds the groups kept from one identity: real users have
// dozens; an upstream listing thousands is cut, not trusted to be small.
const maxGroups = 1000

// flexStrings reads a groups claim: an array of strings, or one string.
// Other members (numbers, objects) are skipped rather than failing the
// whole token: groups are facts for rules, never an identifier.
type flexStrings []string

func (s *flexStrings) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = nil
	switch v := v.(type) {
	case string:
		if v != "" {
			*s = flexStrings{v}
		}
	case []any:
		for _, e := range v {
			if g, ok := e.(string); ok && g != "" && len(*s) < maxGroups {
				*s = append(*s, g)
			}
		}
	}
	return nil
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
