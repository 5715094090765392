package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/socialbroker/broker/providers/providertest"
)

// Hidden modes: argv[1] of the processes this tool starts from itself.
const (
	modeFake = "-serve-fake"
	modeBare = "-serve-bare"
)

// The OAuth clients the broker is registered as with the fake upstreams.
const (
	googleClientID     = "bench-google"
	googleClientSecret = "bench-google-secret"
	githubClientID     = "bench-github"
	githubClientSecret = "bench-github-secret"
)

// fakeURLs is what the fake upstream process prints, as one JSON line.
type fakeURLs struct {
	Google    string `json:"google"`     // the fake OIDC issuer
	GitHub    string `json:"github"`     // the fake GitHub web root
	GitHubAPI string `json:"github_api"` // and its REST API
}

// benchUsers are the n people the fakes sign in. GitHub wants numeric
// subjects; each has a verified email of their own, so a user's Google
// and GitHub identities link to one account, as for real people.
func benchUsers(n int) []providertest.User {
	users := make([]providertest.User, n)
	for i := range users {
		login := "user" + strconv.Itoa(i)
		users[i] = providertest.User{
			Subject: subject(i), Login: login, Name: "Bench User " + strconv.Itoa(i),
			Email: login + "@bench.test", EmailVerified: true,
		}
	}
	return users
}

// subject is user i's upstream subject (the fakes' login_as value).
func subject(i int) string { return strconv.Itoa(100000 + i) }

// serveFake is the -serve-fake mode: the FAKE Google (OIDC) and GitHub
// upstreams on 127.0.0.1, until the parent closes stdin. They accept
// login_as=<subject> on their authorization endpoints, so every login picks
// its user without any shared state.
func serveFake(args []string) int {
	fs := flag.NewFlagSet("bench "+modeFake, flag.ContinueOnError)
	users := fs.Int("users", 1000, "number of users")
	alg := fs.String("alg", "ES256", "the fake OIDC upstream's ID token signing algorithm")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	us := benchUsers(*users)
	// No RedirectURIs: the fakes accept any absolute redirect_uri, so one
	// fake serves every broker this run starts, whatever its port.
	google := providertest.NewOIDC(providertest.OIDCOptions{
		Title: "Google", ClientID: googleClientID, ClientSecret: googleClientSecret, Users: us,
		SigningAlg: *alg,
	})
	defer google.Close()
	github := providertest.NewGitHub(providertest.GitHubOptions{
		ClientID: githubClientID, ClientSecret: githubClientSecret, Users: us,
	})
	defer github.Close()
	if err := json.NewEncoder(os.Stdout).Encode(fakeURLs{
		Google: google.URL(), GitHub: github.BaseURL(), GitHubAPI: github.APIURL(),
	}); err != nil {
		fmt.Fprintln(os.Stderr, "bench fake:", err)
		return 1
	}
	waitForParent(sig)
	return 0
}
