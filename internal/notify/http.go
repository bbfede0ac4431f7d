package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/web"
)

// Handler serves the notification API:
//
//	GET  /api/v1/notify/channels                 notify:admin  the channels, their routes and queue counts (no secrets)
//	POST /api/v1/notify/channels                 notify:admin  a channel defined in the console (ChannelSpec), 201
//	PUT  /api/v1/notify/channels/{name}          notify:admin  replace a console channel (empty url, secret, routing_key: kept)
//	DELETE /api/v1/notify/channels/{name}        notify:admin  remove a console channel (the file's answer 409)
//	POST /api/v1/notify/channels/{name}/test     notify:admin  send a test message now
//	GET  /api/v1/notify/deliveries?status=&channel=&alert=&limit=   alerts:read   deliveries, newest first (status=dead: the dead-letter list)
//	POST /api/v1/notify/deliveries/{id}/retry    notify:admin  put a dead delivery back in the queue
//	GET  /api/v1/alerts/{id}/deliveries          alerts:read   the delivery status of one alert
type Handler struct {
	Dispatcher *Dispatcher
	Actor      func(ctx context.Context) string
	Audit      func(ctx context.Context, action, target string, details map[string]any, err error)
}

// Routes returns the API's routes with their permissions.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/notify/channels", access.NotifyAdmin, h.channels),
		access.Handle("POST /api/v1/notify/channels", access.NotifyAdmin, h.createChannel),
		access.Handle("PUT /api/v1/notify/channels/{name}", access.NotifyAdmin, h.replaceChannel),
		access.Handle("DELETE /api/v1/notify/channels/{name}", access.NotifyAdmin, h.deleteChannel),
		access.Handle("POST /api/v1/notify/channels/{name}/test", access.NotifyAdmin, h.test),
		access.Handle("GET /api/v1/notify/deliveries", access.AlertsRead, h.deliveries),
		access.Handle("POST /api/v1/notify/deliveries/{id}/retry", access.NotifyAdmin, h.retry),
		access.Handle("GET /api/v1/alerts/{id}/deliveries", access.AlertsRead, h.alertDeliveries),
	}
}

func fail(w http.ResponseWriter, status int, msg string) {
	web.WriteJSON(w, status, map[string]string{"error": msg})
}

func (h *Handler) audit(ctx context.Context, action, target string, d map[string]any, err error) {
	if h.Audit != nil {
		h.Audit(ctx, action, target, d, err)
	}
}

type channelInfo struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	Target   string         `json:"target"`
	Where    string         `json:"defined_at"`
	Console  bool           `json:"console"`
	MinLevel string         `json:"min_level,omitempty"`
	Rules    []string       `json:"rules,omitempty"`
	Tags     []string       `json:"tags,omitempty"`
	Schedule string         `json:"schedule"`
	Digest   string         `json:"digest,omitempty"`
	Entities bool           `json:"include_entities"`
	Counts   map[string]int `json:"deliveries"`
}

func (h *Handler) channels(w http.ResponseWriter, r *http.Request) {
	counts := map[string]map[string]int{}
	rows, err := h.Dispatcher.db.QueryContext(r.Context(), `SELECT channel, status, COUNT(*) FROM notify_deliveries GROUP BY channel, status`)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	for rows.Next() {
		var ch, st string
		var n int
		if err := rows.Scan(&ch, &st, &n); err == nil {
			if counts[ch] == nil {
				counts[ch] = map[string]int{}
			}
			counts[ch][st] = n
		}
	}
	rows.Close()
	out := []channelInfo{}
	for _, ch := range h.Dispatcher.Channels() {
		ci := channelInfo{Name: ch.Name, Kind: ch.Kind, Target: ch.Target, Where: ch.Where, Console: ch.Console, MinLevel: ch.Route.MinLevel, Rules: ch.Route.Rules,
			Tags: ch.Route.Tags, Schedule: ch.Route.Schedule.String(), Entities: ch.Entities, Counts: map[string]int{"pending": 0, "sent": 0, "dead": 0}}
		if ch.Digest > 0 {
			ci.Digest = ch.Digest.String()
		}
		for st, n := range counts[ch.Name] {
			ci.Counts[st] = n
		}
		out = append(out, ci)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"channels": out})
}

func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request) { h.saveChannel(w, r, true) }

func (h *Handler) replaceChannel(w http.ResponseWriter, r *http.Request) { h.saveChannel(w, r, false) }

func (h *Handler) saveChannel(w http.ResponseWriter, r *http.Request, create bool) {
	var s ChannelSpec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		fail(w, http.StatusBadRequest, "body: want a channel as a JSON object: "+err.Error())
		return
	}
	if !create {
		if s.Name != "" && s.Name != r.PathValue("name") {
			fail(w, http.StatusBadRequest, "name: a channel cannot be renamed; create another and delete this one")
			return
		}
		s.Name = r.PathValue("name")
	}
	actor := "api"
	if h.Actor != nil {
		actor = h.Actor(r.Context())
	}
	ch, err := h.Dispatcher.SaveChannel(r.Context(), s, create, actor)
	action := "notify.channel_update"
	if create {
		action = "notify.channel_create"
	}
	// The record names the channel and its route, never its secrets.
	h.audit(r.Context(), action, s.Name, map[string]any{"kind": s.Kind, "min_level": s.MinLevel, "rules": s.Rules, "tags": s.Tags,
		"schedule": s.Schedule, "digest": s.Digest}, err)
	if err != nil {
		channelFail(w, err)
		return
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	web.WriteJSON(w, status, map[string]any{"name": ch.Name, "kind": ch.Kind, "target": ch.Target, "console": true})
}

func (h *Handler) deleteChannel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := h.Dispatcher.DeleteChannel(r.Context(), name)
	h.audit(r.Context(), "notify.channel_delete", name, nil, err)
	if err != nil {
		channelFail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}

func channelFail(w http.ResponseWriter, err error) { web.Fail(w, err) }

func (h *Handler) test(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if h.Dispatcher.channel(name) == nil {
		fail(w, http.StatusNotFound, "no channel "+strconv.Quote(name))
		return
	}
	start := time.Now()
	err := h.Dispatcher.Test(r.Context(), name)
	h.audit(r.Context(), "notify.test", name, nil, err)
	if err != nil {
		fail(w, http.StatusBadGateway, "test notification on "+name+" failed: "+err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"channel": name, "sent": true, "took_ms": time.Since(start).Milliseconds()})
}

func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Status: q.Get("status"), Channel: q.Get("channel")}
	if v := q.Get("alert"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(w, http.StatusBadRequest, "alert: want an alert id")
			return
		}
		f.AlertID = id
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			fail(w, http.StatusBadRequest, "limit: want a number from 1 to 10000")
			return
		}
		f.Limit = n
	}
	ds, err := h.Dispatcher.Deliveries(r.Context(), f)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}

func (h *Handler) alertDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "alert id must be a number")
		return
	}
	ds, err := h.Dispatcher.Deliveries(r.Context(), Filter{AlertID: id})
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}

func (h *Handler) retry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "delivery id must be a number")
		return
	}
	err = h.Dispatcher.Retry(r.Context(), id)
	h.audit(r.Context(), "notify.retry", r.PathValue("id"), nil, err)
	switch {
	case err != nil:
		web.Fail(w, err)
	default:
		web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "pending"})
	}
}
