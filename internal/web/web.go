// Package web holds the broker's own HTML pages (the hosted "Sign in with"
// page, error pages) and their static assets, embedded in the binary.
package web

import (
	"embed"
	"html/template"
	"io"
	"io/fs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Assets is served under /assets/.
func Assets() fs.FS {
	sub, _ := fs.Sub(assetFS, "assets")
	return sub
}

// ErrorPage is the data of the error page.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
	// AppName and AppHome, when set, link back to the app the page is
	// about; AppHome is always a value the app registered.
	AppName string
	AppHome string
	// Ref is the reference id also written in the page's log line.
	Ref string
}

// SignInPage is the data of the hosted provider chooser.
type SignInPage struct {
	TenantName string
	// Continue, when set, signs in with the browser's broker session:
	// its Label is the account ("alice@acme.com").
	Continue *SignInButton
	Buttons  []SignInButton
	// Email, when set, is the "Sign in with your work email" form
	// (home-realm discovery).
	Email *EmailBox
}

// LogoutPage asks the browser's user to confirm a sign-out that no app
// proved it asked for (RP-Initiated Logout §2: without id_token_hint the
// OP should ask).
type LogoutPage struct {
	Action string  // where the confirmation is posted
	Hidden []Field // the request's parameters and the confirmation value
	// AppName and AppHome, when the request names an app, offer the way
	// back without signing out; AppHome is always a value it registered.
	AppName, AppHome string
}

// EmailBox is a form asking for an email address, sent as login_hint.
type EmailBox struct {
	Action string  // where the form is sent (GET)
	Hidden []Field // the app's parameters, carried along
	Marker string  // a parameter set to 1, telling the handler the box sent it
	// Value is the address entered last; Message says why it led
	// nowhere.
	Value, Message string
}

// Field is a form field's name and value.
type Field struct{ Name, Value string }

// SignInButton is one "Sign in with ..." link.
type SignInButton struct {
	Provider string // configured name, also the CSS modifier
	Label    string // "Google", "GitHub", "Acme SSO"
	URL      string // /auth/{provider}/login?...
}

// Render writes the named page.
func Render(w io.Writer, name string, data any) error {
	return templates.ExecuteTemplate(w, name+".html", data)
}
