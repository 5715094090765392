package providertest

import (
	"html/template"
	"net/http"
)

// The chooser page stands in for the upstream's sign-in screen. It must
// never be mistaken for a real one, hence the banner.
var chooserPage = template.Must(template.New("chooser").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FAKE {{.Title}} — demo only</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
.fake{background:#b00020;color:#fff;padding:1rem;border-radius:.5rem;font-weight:700;font-size:1.2rem;text-align:center}
ul{list-style:none;padding:0}li{margin:.5rem 0}
a.user{display:block;padding:.75rem 1rem;border:1px solid #ccc;border-radius:.5rem;text-decoration:none;color:inherit}
a.user:hover{background:#f4f4f4}small{color:#666}
</style></head><body>
<p class="fake" role="alert">FAKE {{.Title}} — demo only, not a real sign-in</p>
<p>This page is served by a local test double of {{.Title}}. No password is asked and nothing
leaves this machine. Choose who to sign in as:</p>
<ul>{{range .Users}}
<li><a class="user" href="{{.Href}}"><strong>{{.Name}}</strong><br><small>{{.Detail}}</small></a></li>{{else}}
<li>No users are configured.</li>{{end}}
</ul>
<p><a href="{{.Deny}}">Cancel (the app receives access_denied)</a></p>
</body></html>`))

type chooserUser struct{ Name, Detail, Href string }

// chooser renders the page; each link repeats the authorization request
// with login_as (or deny) added.
func (c *core) chooser(w http.ResponseWriter, r *http.Request) {
	// Links carry only a query: they resolve against the page's own
	// path, whatever prefix a mounted fake is served under.
	link := func(k, v string) string {
		q := r.URL.Query()
		q.Set(k, v)
		return "?" + q.Encode()
	}
	data := struct {
		Title string
		Users []chooserUser
		Deny  string
	}{Title: c.title, Deny: link("deny", "1")}
	for _, u := range c.users {
		name := u.Name
		if name == "" {
			name = u.Login
		}
		detail := u.Email
		if u.Login != "" {
			detail = "@" + u.Login + " " + detail
		}
		data.Users = append(data.Users, chooserUser{Name: name, Detail: detail, Href: link("login_as", u.Subject)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = chooserPage.Execute(w, data)
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FAKE {{.Title}} — error</title></head><body>
<p style="background:#b00020;color:#fff;padding:1rem;font-weight:700">FAKE {{.Title}} — demo only, not a real sign-in</p>
<h1>Bad authorization request</h1><p>{{.Message}}</p></body></html>`))

// errorPage answers 400 without redirecting, as RFC 6749 §4.1.2.1 requires
// when the client or its redirect_uri cannot be trusted.
func (c *core) errorPage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = errorPage.Execute(w, struct{ Title, Message string }{c.title, msg})
}

// formPostPage posts the authorization response to the client, as a
// form_post upstream does: at once with script, or with the button.
var formPostPage = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FAKE {{.Title}} — returning to the app</title></head>
<body onload="document.forms[0].submit()">
<p style="background:#b00020;color:#fff;padding:1rem;font-weight:700">FAKE {{.Title}} — demo only, not a real sign-in</p>
<form method="post" action="{{.Action}}">{{range $k, $vs := .Params}}{{range $vs}}{{if .}}
<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}{{end}}
<button type="submit">Continue</button></form></body></html>`))
