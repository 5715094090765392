package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
)

// maxBody bounds a request body: a tenant with hundreds of redirect URIs
// and roles fits many times over.
const maxBody = 64 << 10

// safeID is the alphabet and length of every id the API accepts (tenant
// and key ids; connection ids are narrower, being URL path segments): no
// "/", no space, nothing a log line or a path could be confused by.
var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// readObject reads a JSON object body: application/json (or, for PATCH,
// application/merge-patch+json, RFC 7396 §4), at most maxBody bytes, one
// object and nothing after it. Numbers stay json.Number, for
// config.DecodeJSON.
func readObject(c echo.Context) (map[string]any, error) {
	req := c.Request()
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if mt != "application/json" && !(mt == "application/merge-patch+json" && req.Method == http.MethodPatch) {
		return nil, apiError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil {
		// http.MaxBytesReader (the server's body limit) says "too large"
		// this way too.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, err
	}
	if len(data) > maxBody {
		return nil, tooLarge()
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil || obj == nil {
		return nil, badRequest("the body is not a JSON object")
	}
	if d.More() {
		return nil, badRequest("the body holds more than one JSON value")
	}
	return obj, nil
}

func tooLarge() error {
	return apiError(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than 64 KiB")
}

// mergePatch applies patch to target as RFC 7396 §2 says: an object's
// members are merged recursively, null removes a member, anything else
// replaces the target. target is not changed.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, _ := target.(map[string]any)
	out := make(map[string]any, len(t)+len(p))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = mergePatch(out[k], v)
		}
	}
	return out
}

// withoutNulls is a creation body with its null members left out: absent,
// as RFC 7396 reads them, rather than values of the wrong type.
func withoutNulls(obj map[string]any) map[string]any {
	out, _ := mergePatch(nil, obj).(map[string]any)
	return out
}

// take removes key from obj and returns it as a string; a value of
// another type is a problem.
func take(obj map[string]any, key string, ps *[]httpx.Problem) string {
	v, ok := obj[key]
	if !ok {
		return ""
	}
	delete(obj, key)
	s, ok := v.(string)
	if !ok {
		*ps = append(*ps, httpx.Problem{Field: key, Message: "want a string"})
	}
	return s
}

// takeBool is take for a boolean.
func takeBool(obj map[string]any, key string, ps *[]httpx.Problem) bool {
	v, ok := obj[key]
	if !ok {
		return false
	}
	delete(obj, key)
	b, ok := v.(bool)
	if !ok {
		*ps = append(*ps, httpx.Problem{Field: key, Message: "want true or false"})
	}
	return b
}

// readOnly refuses keys of a view that a body may not set.
func readOnly(obj map[string]any, ps *[]httpx.Problem, keys ...string) {
	for _, k := range keys {
		if _, ok := obj[k]; ok {
			*ps = append(*ps, httpx.Problem{Field: k, Message: "read-only"})
			delete(obj, k)
		}
	}
}

// fromConfig turns config's problems into the API's.
func fromConfig(list []config.Problem, rename map[string]string) []httpx.Problem {
	out := make([]httpx.Problem, 0, len(list))
	for _, p := range list {
		f := p.Field
		if r, ok := rename[f]; ok {
			f = r
		}
		out = append(out, httpx.Problem{Field: f, Message: p.Message})
	}
	return out
}
