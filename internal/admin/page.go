package admin

import (
	"encoding/base64"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Lists page by cursor: ?limit=N (1 to maxLimit, default defaultLimit)
// and ?cursor=C, the next_cursor of the page before. A cursor is the
// position after the page's last item (an id), opaque to clients so
// that it can change shape; a list changing between pages neither
// repeats nor skips what stayed.
const (
	defaultLimit = 50
	maxLimit     = 200
)

type page struct {
	limit int
	after string // "" for the first page
}

func pageOf(c echo.Context) (page, error) {
	p := page{limit: defaultLimit}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return page{}, badRequest("limit: want a number from 1 to " + strconv.Itoa(maxLimit))
		}
		p.limit = n
	}
	if s := c.QueryParam("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return page{}, badRequest("cursor: not a cursor this API gave")
		}
		p.after = string(b)
	}
	return p, nil
}

// list is a page of items: given one item more than the page holds (the
// store was asked for limit+1), it answers limit items and a next_cursor
// after the last one; given no more, it answers the last page, without
// next_cursor.
func list[T any](c echo.Context, p page, items []T, key func(T) string) error {
	body := map[string]any{}
	if len(items) > p.limit {
		items = items[:p.limit]
		body["next_cursor"] = base64.RawURLEncoding.EncodeToString([]byte(key(items[len(items)-1])))
	}
	if items == nil {
		items = []T{}
	}
	body["items"] = items
	return c.JSON(200, body)
}
