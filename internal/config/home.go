package config

import "net/url"

// Home is where an error page about this tenant sends the user back: the
// origin of its first allowed origin, else of its first http(s) redirect
// URI, as "scheme://host/". Only registered values are used, never one a
// request named, and only their scheme and host: a path or query could
// carry anything the app's operator wrote. "" when nothing fits (a native
// app with only a custom-scheme redirect URI).
func (t *Tenant) Home() string {
	for _, list := range [][]string{t.AllowedOrigins, t.RedirectURIs} {
		for _, v := range list {
			u, err := url.Parse(v)
			if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil {
				return u.Scheme + "://" + u.Host + "/"
			}
		}
	}
	return ""
}

// DisplayName is the tenant's name, or its id when it has none.
func (t *Tenant) DisplayName() string {
	if t.Name != "" {
		return t.Name
	}
	return t.ID
}
