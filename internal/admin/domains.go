package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/domains"
	"github.com/socialbroker/broker/internal/email"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
)

// hostName is a DNS name of two labels or more, each of letters, digits
// and inner hyphens (RFC 1123 §2.1), in the lower-case ASCII form
// email.Domain gives.
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// domainName returns an email domain's canonical form, if it is one.
func domainName(s string) (string, bool) {
	d, ok := email.Domain(s)
	if !ok || len(d) > 253 || !hostName.MatchString(d) {
		return "", false
	}
	return d, true
}

// domainView is a domain as the API shows it: what to publish in DNS to
// prove it, and whether that has been seen.
type domainView struct {
	Domain     string    `json:"domain"`
	Connection string    `json:"connection"`
	Verified   bool      `json:"verified"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	TXTName    string    `json:"txt_name"`
	TXTValue   string    `json:"txt_value"`
}

func viewDomain(r storage.Record, d tenants.Domain) domainView {
	return domainView{Domain: r.ID, Connection: r.Owner, Verified: d.Verified, VerifiedAt: d.VerifiedAt.UTC(),
		TXTName: domains.TXTName(r.ID), TXTValue: d.Token}
}

// loadDomain finds a domain of the connection in the path.
func (a *API) loadDomain(c echo.Context) (connection, storage.Record, tenants.Domain, error) {
	cn, err := a.runtimeConnection(c)
	if err != nil {
		return connection{}, storage.Record{}, tenants.Domain{}, err
	}
	name, ok := domainName(c.Param("domain"))
	none := notFound("connection " + cn.p.Name + " holds no domain " + c.Param("domain"))
	if !ok {
		return connection{}, storage.Record{}, tenants.Domain{}, none
	}
	r, err := a.Store.GetRecord(c.Request().Context(), storage.KindDomain, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && r.Owner != cn.p.Name) {
		return connection{}, storage.Record{}, tenants.Domain{}, none
	} else if err != nil {
		return connection{}, storage.Record{}, tenants.Domain{}, err
	}
	d, err := tenants.DomainFromRecord(r)
	return cn, r, d, err
}

func (a *API) listDomains(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	cn, err := a.runtimeConnection(c)
	if err != nil {
		return err
	}
	recs, err := a.Store.ListRecords(c.Request().Context(), storage.KindDomain, cn.p.Name, p.after, p.limit+1)
	if err != nil {
		return err
	}
	views := make([]domainView, len(recs))
	for i, r := range recs {
		d, err := tenants.DomainFromRecord(r)
		if err != nil {
			return err
		}
		views[i] = viewDomain(r, d)
	}
	return list(c, p, views, func(v domainView) string { return v.Domain })
}

func (a *API) createDomain(c echo.Context) error {
	ctx := c.Request().Context()
	cn, err := a.runtimeConnection(c)
	if err != nil {
		return err
	}
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	var ps []httpx.Problem
	raw := take(obj, "domain", &ps)
	for k := range obj {
		ps = append(ps, httpx.Problem{Field: k, Message: "unknown key"})
	}
	name, ok := domainName(raw)
	switch {
	case raw == "":
		ps = append(ps, httpx.Problem{Field: "domain", Message: "required: an email domain, like \"acme.com\""})
	case !ok:
		ps = append(ps, httpx.Problem{Field: "domain", Message: "not a domain name"})
	}
	if len(ps) > 0 {
		return invalid(dedupe(ps))
	}
	d := tenants.Domain{Token: domains.NewToken()}
	doc, _ := json.Marshal(d) // a struct of strings, a bool and a time always encodes
	r, err := a.Store.CreateRecord(ctx, storage.Record{Kind: storage.KindDomain, ID: name, Owner: cn.p.Name, Doc: doc, CreatedAt: a.Now()})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return conflict("domain " + name + " is claimed by a connection already")
	} else if err != nil {
		return err
	}
	a.audit(c, "domain.created", cn.owner(), "", map[string]any{"connection": cn.p.Name, "domain": name})
	if err := a.Sync(ctx); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewDomain(r, d))
}

func (a *API) getDomain(c echo.Context) error {
	_, r, d, err := a.loadDomain(c)
	if err != nil {
		return err
	}
	return c.JSON(200, viewDomain(r, d))
}

func (a *API) deleteDomain(c echo.Context) error {
	ctx := c.Request().Context()
	cn, r, _, err := a.loadDomain(c)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteRecord(ctx, storage.KindDomain, r.ID, a.Now()); errors.Is(err, storage.ErrNotFound) {
		return notFound("no domain " + r.ID)
	} else if err != nil {
		return err
	}
	a.audit(c, "domain.deleted", cn.owner(), "", map[string]any{"connection": cn.p.Name, "domain": r.ID})
	if err := a.Sync(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// verifyDomain looks the domain's TXT record up. The answer is what DNS
// says now: a domain whose record is gone is no longer verified, so that
// a domain that changed hands stops routing its users to the old owner's
// connection. A lookup that could not be made proves nothing and changes
// nothing (503).
func (a *API) verifyDomain(c echo.Context) error {
	ctx := c.Request().Context()
	cn, r, d, err := a.loadDomain(c)
	if err != nil {
		return err
	}
	ok, err := a.Domains.Verify(ctx, r.ID, d.Token)
	if err != nil {
		a.Log.Warn("domain verification lookup failed", "domain", r.ID, "err", err)
		return apiError(http.StatusServiceUnavailable, "dns_unavailable", "the DNS lookup of "+domains.TXTName(r.ID)+" could not be completed; retry later")
	}
	if ok == d.Verified {
		return c.JSON(200, viewDomain(r, d))
	}
	d.Verified, d.VerifiedAt = ok, time.Time{}
	event := "domain.unverified"
	if ok {
		d.VerifiedAt, event = a.Now(), "domain.verified"
	}
	doc, _ := json.Marshal(d)
	stored, err := a.update(ctx, r, doc, "domain")
	if err != nil {
		return err
	}
	a.audit(c, event, cn.owner(), "", map[string]any{"connection": cn.p.Name, "domain": r.ID})
	if err := a.Sync(ctx); err != nil {
		return err
	}
	return c.JSON(200, viewDomain(stored, d))
}
