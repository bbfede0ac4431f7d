package integrity

import (
	"context"
	"errors"
	"github.com/vigil-siem/vigil/internal/web"
	"io"
	"net/http"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Handler serves the integrity API:
//
//	GET  /api/v1/integrity          the chain's head, the last checkpoint, the public key, the last verification
//	POST /api/v1/integrity/verify   verify now (?since=-7d); the report, 200 either way (ok says which)
//	GET  /api/v1/integrity/export   the bundle an auditor verifies offline (?since=)
//	POST /api/v1/integrity/prove    body: stored events as NDJSON (case evidence); the proof that they are sealed
type Handler struct {
	Service   *Service
	ParseTime func(s string, now time.Time) (time.Time, error)
}

// Routes are the handler's routes.
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/integrity":         http.HandlerFunc(h.status),
		"POST /api/v1/integrity/verify": http.HandlerFunc(h.verify),
		"GET /api/v1/integrity/export":  http.HandlerFunc(h.export),
		"POST /api/v1/integrity/prove":  http.HandlerFunc(h.prove),
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	web.WriteJSON(w, status, map[string]string{"error": msg})
}

func (h *Handler) since(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, nil
	}
	return h.ParseTime(v, time.Now())
}

// Status is GET /api/v1/integrity.
type Status struct {
	Entries        int64       `json:"entries"`
	Seq            uint64      `json:"seq"`
	Batches        int64       `json:"batches"`
	Events         int64       `json:"events"`
	Chain          string      `json:"chain"`
	KeyID          string      `json:"key_id"`
	PublicKey      string      `json:"public_key"`
	LastCheckpoint *Checkpoint `json:"last_checkpoint,omitempty"`
	Timestamped    bool        `json:"last_checkpoint_timestamped"`
	LastVerify     *Report     `json:"last_verify,omitempty"`
}

// Status reads the state of the chain.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	head := s.Ledger.Head()
	pub, err := MarshalPublicKey(s.Key.Public)
	if err != nil {
		return nil, err
	}
	st := &Status{Entries: head.N, Seq: head.Seq, Batches: head.Batches, Events: head.Events, Chain: Hex(head.Chain),
		KeyID: s.Key.ID, PublicKey: string(pub), LastVerify: s.Last()}
	last, err := s.Ledger.LastCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if last != nil {
		if st.LastCheckpoint, err = last.Parse(); err != nil {
			return nil, err
		}
		st.Timestamped = len(last.Timestamp) > 0
	}
	return st, nil
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	st, err := h.Service.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, st)
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	since, err := h.since(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.Service.Verify(r.Context(), since)
	if errors.Is(err, ErrBusy) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		OK bool `json:"ok"`
		*Report
	}{rep.OK(), rep})
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	since, err := h.since(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b, err := Export(r.Context(), h.Service.Ledger, h.Service.Key.Public, since)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, b)
}

func (h *Handler) prove(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 128<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "evidence larger than 128 MiB")
		return
	}
	rows, err := ReadRows(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(rows) == 0 {
		writeError(w, http.StatusBadRequest, "no event in the body: send the evidence file (NDJSON)")
		return
	}
	p, err := h.Service.Prove(r.Context(), rows)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, p)
}

// Prove proves stored events sealed, signing a checkpoint first when the
// last one does not cover them yet.
func (s *Service) Prove(ctx context.Context, rows [][]event.Field) (*Proof, error) {
	if s.Checkpoint != nil {
		if err := s.Checkpoint(ctx); err != nil {
			return nil, err
		}
	}
	return Prove(ctx, s.Ledger, s.Store, rows)
}
