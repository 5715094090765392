package server

import (
	"encoding/json"
	"io"
	"mime"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/oautherr"
)

// paramsKey caches a request's parsed body on its echo.Context: the rate
// limiter reads client_id before the handler reads the rest.
const paramsKey = "broker.params"

// params reads a POST body as form (RFC 6749 §3.2) or as a flat JSON
// object of strings, the two encodings the contract accepts, once per
// request. A parameter repeated in a form is refused (RFC 6749 §3.2),
// since two readers could see two different values.
func params(c echo.Context) (url.Values, error) {
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
		var m map[string]any
		dec := json.NewDecoder(req.Body)
		if err := dec.Decode(&m); err != nil && err != io.EOF {
			return nil, oautherr.New(oautherr.InvalidRequest, "the body is not a JSON object")
		}
		v := url.Values{}
		for k, val := range m {
			s, ok := val.(string)
			if !ok {
				return nil, oautherr.New(oautherr.InvalidRequest, k+" must be a string")
			}
			v.Set(k, s)
		}
		return v, nil
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
