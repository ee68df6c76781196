package burnersim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// mintRequest is a validated request body.
type mintRequest struct {
	wallet string
	scopes []string // never empty: burnerapi.AllScopes when the request named none
	ttl    int      // seconds
}

// rawRequest keeps each field raw so types can be checked exactly: a ttlSeconds of "300" or 1.5 is a 400.
type rawRequest struct {
	WalletAddress json.RawMessage `json:"walletAddress"`
	Scopes        json.RawMessage `json:"scopes"`
	TTLSeconds    json.RawMessage `json:"ttlSeconds"`
}

// parseRequest validates a body as the documented API does. Decisions where the documentation is silent: an empty
// scopes array is rejected (omit the field to get all scopes), null is rejected for every field, and ttlSeconds must
// be an integer literal.
func parseRequest(body []byte) (mintRequest, error) {
	var raw rawRequest
	if err := decodeStrict(body, &raw); err != nil {
		return mintRequest{}, err
	}
	req := mintRequest{scopes: burnerapi.AllScopes, ttl: burnerapi.DefaultTTLSeconds}
	if raw.WalletAddress == nil {
		return req, errors.New("walletAddress is required")
	}
	if err := json.Unmarshal(raw.WalletAddress, &req.wallet); err != nil || raw.WalletAddress[0] != '"' {
		return req, errors.New("walletAddress must be a string")
	}
	if err := burnerapi.ValidateWalletAddress(req.wallet); err != nil {
		return req, err
	}
	if raw.Scopes != nil {
		scopes, err := parseScopes(raw.Scopes)
		if err != nil {
			return req, err
		}
		req.scopes = scopes
	}
	if raw.TTLSeconds != nil {
		ttl, err := strconv.Atoi(string(raw.TTLSeconds))
		if err != nil || ttl < 1 || ttl > burnerapi.MaxTTLSeconds {
			return req, fmt.Errorf("ttlSeconds must be an integer from 1 to %d", burnerapi.MaxTTLSeconds)
		}
		req.ttl = ttl
	}
	return req, nil
}

func parseScopes(raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || raw[0] != '[' {
		return nil, errors.New("scopes must be an array of strings")
	}
	if len(items) == 0 {
		return nil, errors.New("scopes must not be empty; omit it to get all scopes")
	}
	scopes := make([]string, 0, len(items))
	for _, item := range items {
		var scope string
		if err := json.Unmarshal(item, &scope); err != nil || item[0] != '"' {
			return nil, errors.New("scopes must be an array of strings")
		}
		if !slices.Contains(burnerapi.AllScopes, scope) {
			return nil, fmt.Errorf("invalid scope %q", scope)
		}
		if slices.Contains(scopes, scope) {
			return nil, fmt.Errorf("duplicate scope %q", scope)
		}
		scopes = append(scopes, scope)
	}
	return scopes, nil
}

// decodeStrict decodes exactly one JSON object into v, rejecting unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON body: unexpected data after the object")
	}
	return nil
}

// writeJSON sends v with status and returns status, for the caller's statistics.
func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

// writeError sends the API's error shape. Messages never include the API key.
func writeError(w http.ResponseWriter, status int, msg string) int {
	return writeJSON(w, status, map[string]string{"error": msg})
}
