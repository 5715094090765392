// Package backchannel delivers OpenID Connect Back-Channel Logout 1.0
// logout tokens to the apps whose sessions ended.
//
// It owns the sending side of the durable outbox that storage keeps
// (storage.LogoutOutbox): the store queues a delivery in the very
// transaction that ends an app session, whatever ended it, and a
// Deliverer, run every second on every replica, claims the due ones under
// a lease (so each is sent once however many replicas run), POSTs a
// freshly signed logout token to the tenant's backchannel_logout_uri, and
// deletes the delivery on 200 or 204; a tenant without a URI has its
// deliveries dropped. Anything else (an error status, a timeout, an app
// that is down, a tenant this replica does not know yet) is retried with
// capped exponential backoff until GiveUpAfter has passed since the
// session ended; then the delivery is dropped, logged, and reported to
// Config.GaveUp.
//
// Deliveries are asynchronous: a logout never waits for an app, and an
// app that hangs costs a delivery round at most RequestTimeout.
package backchannel
