// Package appapi serves the app-facing endpoints: what a single-page
// app's auth provider and its HTTP interceptor call (/auth/check,
// /auth/me, /auth/permissions, /auth/refresh, /auth/logout). They answer
// in the camelCase shapes JavaScript apps expect; the standard endpoints
// (package oauth) keep the RFC shapes.
package appapi
