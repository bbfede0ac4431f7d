package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/vigil-siem/vigil/internal/directory"
)

// ImportWorkforce posts a roster to POST /api/v1/workforce/import with the
// query (preset, mapping, delimiter, date_order) and returns the server's
// account.
func (c *Client) ImportWorkforce(ctx context.Context, roster io.Reader, q url.Values) (*directory.ImportResult, error) {
	resp, err := c.Post(ctx, "/api/v1/workforce/import", q, roster, http.Header{"Content-Type": {"text/csv"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var res directory.ImportResult
	if json.Unmarshal(data, &res) == nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusBadRequest && res.Rows > 0) {
		return &res, nil
	}
	return nil, ResponseError(resp.StatusCode, data)
}
