package httpx

import (
	"encoding/json"
	"io"
	"mime"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/oautherr"
)

// paramsKey caches a request's parsed body on its echo.Context: the rate
// limiter reads client_id before the handler reads the rest.
const paramsKey = "broker.params"

// Params reads a POST body as form (RFC 6749 §3.2) or as a flat JSON
// object of strings, the two encodings the contract accepts, once per
// request. A parameter repeated in a form is refused (RFC 6749 §3.2),
// since two readers could see two different values; so is a repeated
// member or anything but whitespace after the object in JSON.
func Params(c echo.Context) (url.Values, error) {
	if v, ok := c.Get(paramsKey).(url.Values); ok {
		return v, nil
	}
	v, err := parseParams(c)
	if err == nil {
		c.Set(paramsKey, v)
	}
	return v, err
}

func parseParams(c echo.Context) (url.Values, error) {
	req := c.Request()
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	switch mt {
	case echo.MIMEApplicationJSON:
		return jsonParams(req.Body)
	case echo.MIMEApplicationForm, "":
		if err := req.ParseForm(); err != nil {
			return nil, oautherr.New(oautherr.InvalidRequest, "the body is not a valid form")
		}
		for k, vs := range req.PostForm {
			if len(vs) > 1 {
				return nil, oautherr.New(oautherr.InvalidRequest, k+" is repeated")
			}
		}
		return req.PostForm, nil
	default:
		return nil, oautherr.New(oautherr.InvalidRequest, "send application/x-www-form-urlencoded or application/json")
	}
}

// jsonParams reads one flat JSON object of strings from r. It walks the
// token stream instead of decoding into a map, which would keep the last
// of two members with one name: like a repeated form field, a repeated
// member is refused (RFC 6749 §3.2, RFC 8259 §4: "names within an object
// SHOULD be unique"), and so is a second value or junk after the object
// (`{...}{...}`), which another parser in front of the broker could read
// instead of the first. An empty body is no parameters at all.
func jsonParams(r io.Reader) (url.Values, error) {
	notObject := oautherr.New(oautherr.InvalidRequest, "the body is not one JSON object")
	dec := json.NewDecoder(r)
	v := url.Values{}
	switch tok, err := dec.Token(); {
	case err == io.EOF:
		return v, nil
	case err != nil || tok != json.Delim('{'):
		return nil, notObject
	}
	for dec.More() {
		tok, err := dec.Token()
		k, ok := tok.(string) // a member name; the decoder yields nothing else here
		if err != nil || !ok {
			return nil, notObject
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, notObject
		}
		var s string
		switch t := tok.(type) {
		case string:
			s = t
		case bool:
			// A flag ({"everywhere":true} at /auth/logout) reads as the
			// form value "true" or "false" would.
			s = strconv.FormatBool(t)
		default:
			return nil, oautherr.New(oautherr.InvalidRequest, k+" must be a string")
		}
		if v.Has(k) {
			return nil, oautherr.New(oautherr.InvalidRequest, k+" is repeated")
		}
		v.Set(k, s)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, notObject
	}
	return v, nil
}
