package registry

import (
	"context"
	"time"
)

// SetSleep replaces how c waits between retries, so tests never sleep.
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.sleep = f }
