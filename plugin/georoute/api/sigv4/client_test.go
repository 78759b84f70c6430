package sigv4

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
)

const xmlns = "https://route53.amazonaws.com/doc/2013-04-01/"

// route53Server verifies every request and answers the few operations the tests call with
// minimal valid XML, and refusals with Route 53's error document.
type route53Server struct {
	*httptest.Server
	v *Verifier

	mu       sync.Mutex
	requests []string // "METHOD request-uri signed-by"
}

func newRoute53Server(t *testing.T, v *Verifier) *route53Server {
	s := &route53Server{v: v}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *route53Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key, e := s.v.Verify(r, body)
	signer := "-"
	if key != nil {
		signer = key.AccessKeyID
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.RequestURI+" "+signer)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	if e != nil {
		w.WriteHeader(e.Status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
			xmlns, e.Code, html.EscapeString(e.Message))
		return
	}
	// botocore's model ends ChangeResourceRecordSets's path in "rrset/"; the Go SDK's does not.
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && path == "/2013-04-01/hostedzonecount":
		fmt.Fprintf(w, `<GetHostedZoneCountResponse xmlns="%s"><HostedZoneCount>0</HostedZoneCount></GetHostedZoneCountResponse>`, xmlns)
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/rrset"):
		fmt.Fprintf(w, `<ListResourceRecordSetsResponse xmlns="%s"><ResourceRecordSets/><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>`, xmlns)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/rrset"):
		fmt.Fprintf(w, `<ChangeResourceRecordSetsResponse xmlns="%s"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-12-01T10:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`, xmlns)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/2013-04-01/hostedzone/"):
		fmt.Fprintf(w, `<GetHostedZoneResponse xmlns="%s"><HostedZone><Id>/hostedzone/Z1</Id><Name>example.net.</Name><CallerReference>c1</CallerReference></HostedZone>`+
			`<DelegationSet><NameServers><NameServer>ns1.example.net.</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`, xmlns)
	default:
		http.NotFound(w, r)
	}
}

func (s *route53Server) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return ""
	}
	return s.requests[len(s.requests)-1]
}

func TestRoute53Client(t *testing.T) {
	v, err := NewVerifier([]Key{{AccessKeyID: testKeyID, Secret: testSecret}}, "route53", 15*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := newRoute53Server(t, v)
	client := func(region, keyID, secret string) *route53.Client {
		return route53.New(route53.Options{
			BaseEndpoint:     aws.String(srv.URL),
			Region:           region,
			RetryMaxAttempts: 1,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, nil
			}),
		})
	}
	ctx := context.Background()
	calls := []struct {
		name string
		call func(*route53.Client) error
		want string // the request as the server logged it
	}{
		{"GetHostedZoneCount", func(c *route53.Client) error {
			out, err := c.GetHostedZoneCount(ctx, &route53.GetHostedZoneCountInput{})
			if err == nil && aws.ToInt64(out.HostedZoneCount) != 0 {
				err = fmt.Errorf("count %d", aws.ToInt64(out.HostedZoneCount))
			}
			return err
		}, "GET /2013-04-01/hostedzonecount " + testKeyID},
		{"ListResourceRecordSets", func(c *route53.Client) error {
			_, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
				HostedZoneId: aws.String("/hostedzone/Z123"), StartRecordName: aws.String("*.example.net."),
				StartRecordType: types.RRTypeA, StartRecordIdentifier: aws.String("eu west+1"), MaxItems: aws.Int32(1),
			})
			return err
		}, "GET /2013-04-01/hostedzone/Z123/rrset?identifier=eu%20west%2B1&maxitems=1&name=%2A.example.net.&type=A " + testKeyID},
		{"GetHostedZone, id needing encoding", func(c *route53.Client) error {
			_, err := c.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String("/hostedzone/Z1 x*")})
			return err
		}, "GET /2013-04-01/hostedzone/Z1%20x%2A " + testKeyID},
		{"ChangeResourceRecordSets", func(c *route53.Client) error {
			_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
				HostedZoneId: aws.String("Z123"),
				ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{
					Action: types.ChangeActionUpsert,
					ResourceRecordSet: &types.ResourceRecordSet{
						Name: aws.String(`\052.example.net.`), Type: types.RRTypeA, TTL: aws.Int64(60),
						ResourceRecords: []types.ResourceRecord{{Value: aws.String("192.0.2.1")}},
					},
				}}},
			})
			return err
		}, "POST /2013-04-01/hostedzone/Z123/rrset " + testKeyID},
	}
	for _, region := range []string{"us-east-1", "eu-west-1", "aws-global"} {
		for _, tc := range calls {
			t.Run(region+"/"+tc.name, func(t *testing.T) {
				if err := tc.call(client(region, testKeyID, testSecret)); err != nil {
					t.Fatal(err)
				}
				if got := srv.last(); got != tc.want {
					t.Errorf("server saw %q, want %q", got, tc.want)
				}
			})
		}
	}

	refused := []struct {
		name, keyID, secret, code string
	}{
		{"wrong secret", testKeyID, "not the secret", "SignatureDoesNotMatch"},
		{"unknown key", "AKIAUNKNOWNEXAMPLE1", testSecret, "InvalidClientTokenId"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := calls[0].call(client("us-east-1", tc.keyID, tc.secret))
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// TestAWSCLI runs the aws command line tool (botocore's signer, which hashes the body instead of
// sending X-Amz-Content-Sha256) against the verifier, when it is installed.
func TestAWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws command line tool")
	}
	v, err := NewVerifier([]Key{{AccessKeyID: testKeyID, Secret: testSecret}}, "route53", 15*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := newRoute53Server(t, v)
	batch := `{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"*.example.net.","Type":"A","TTL":60,"ResourceRecords":[{"Value":"192.0.2.1"}]}}]}`
	tests := []struct {
		name   string
		secret string
		args   []string
		want   string // the request as the server logged it
		fail   string // in the output of a failing command
	}{
		{"get-hosted-zone-count", testSecret, []string{"get-hosted-zone-count"}, "GET /2013-04-01/hostedzonecount " + testKeyID, ""},
		{"list-resource-record-sets", testSecret, []string{"list-resource-record-sets", "--hosted-zone-id", "Z123", "--start-record-name", "*.example.net.", "--start-record-type", "A", "--region", "eu-west-1"},
			"GET /2013-04-01/hostedzone/Z123/rrset?name=%2A.example.net.&type=A " + testKeyID, ""},
		{"change-resource-record-sets", testSecret, []string{"change-resource-record-sets", "--hosted-zone-id", "/hostedzone/Z123", "--change-batch", batch},
			"POST /2013-04-01/hostedzone/Z123/rrset/ " + testKeyID, ""},
		{"wrong secret", "not the secret", []string{"get-hosted-zone-count"}, "GET /2013-04-01/hostedzonecount -", "(SignatureDoesNotMatch)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, awsCLI, append([]string{"route53", "--endpoint-url", srv.URL}, tc.args...)...)
			for _, e := range os.Environ() {
				if !strings.HasPrefix(e, "AWS_") {
					cmd.Env = append(cmd.Env, e)
				}
			}
			cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+testKeyID, "AWS_SECRET_ACCESS_KEY="+tc.secret, "AWS_DEFAULT_REGION=us-east-1",
				"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1")
			out, err := cmd.CombinedOutput()
			if tc.fail == "" && err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if tc.fail != "" && (err == nil || !strings.Contains(string(out), tc.fail)) {
				t.Fatalf("got %v: %s, want a failure with %s", err, out, tc.fail)
			}
			if got := srv.last(); got != tc.want {
				t.Errorf("server saw %q, want %q", got, tc.want)
			}
		})
	}
}
