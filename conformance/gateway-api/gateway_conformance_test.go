// Package gatewayconformance runs the official Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance, pinned in go.mod to the CRDs' version) against a
// kic-trio that is already running against the cluster in $KUBECONFIG.
//
// It is driven by `nox -s gateway_conformance` (conformance/gateway-api/harness.py), which
// starts the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
// KWOK with one fake Node), FakeKong and kic-trio, then runs
//
//	go test -json -run TestGatewayConformance . -args -conformance-options-file=<yaml> ...
//
// and classifies the results. Run by hand only against a cluster where a kic-trio watches.
//
// There is no data plane here (Kong cannot run on our machines; FakeKong only answers the
// Admin API). Tests that send traffic are skipped by the harness (SkipTests) and, as a second
// guard, the suite's HTTP round-tripper, gRPC client and WebSocket dialer are replaced by ones
// that refuse every request: a traffic test that slipped through fails, it never passes.
package gatewayconformance

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/grpc"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
)

const (
	// controllerName is the one kic-trio (like upstream's KIC) claims GatewayClasses with.
	controllerName = "konghq.com/kic-gateway-controller"
	// unmanagedAnnotation marks a GatewayClass whose Gateways use an existing Kong (the
	// publish Service) instead of provisioning one: the only mode kic-trio has.
	unmanagedAnnotation = "konghq.com/gatewayclass-unmanaged"
	// observedGenerationBumpClass is the GatewayClass GatewayClassObservedGenerationBump
	// creates itself; upstream's conformance run marks it unmanaged so its controller
	// reconciles it, and so do we (no other test-made class is touched).
	observedGenerationBumpClass = "gatewayclass-observed-generation-bump"
)

var errNoDataPlane = errors.New("no data plane in this harness: traffic tests are not runnable here (Kong cannot run on this machine)")

type refusingRoundTripper struct{}

func (refusingRoundTripper) CaptureRoundTrip(roundtripper.Request) (*roundtripper.CapturedRequest, *roundtripper.CapturedResponse, error) {
	return nil, nil, errNoDataPlane
}

type refusingGRPC struct{}

func (refusingGRPC) SendRPC(*testing.T, string, grpc.ExpectedResponse, time.Duration) (*grpc.Response, error) {
	return nil, errNoDataPlane
}

func (refusingGRPC) Close() {}

type refusingDialer struct{}

func (refusingDialer) Dial(string, string, string) (*websocket.Conn, error) {
	return nil, errNoDataPlane
}

// ensureGatewayClass creates (or re-annotates) the unmanaged GatewayClass the suite uses.
func ensureGatewayClass(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	gwc := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{unmanagedAnnotation: "true"},
		},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: controllerName},
	}
	err := c.Create(ctx, gwc)
	if apierrors.IsAlreadyExists(err) {
		return
	}
	require.NoError(t, err, "creating GatewayClass %s", name)
}

// annotateBumpClass marks the suite's own observed-generation-bump class unmanaged as soon as
// it appears (as upstream's run does), until ctx ends.
func annotateBumpClass(ctx context.Context, c client.Client) {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		gwc := &gatewayv1.GatewayClass{}
		if err := c.Get(ctx, client.ObjectKey{Name: observedGenerationBumpClass}, gwc); err != nil {
			continue
		}
		if gwc.Annotations[unmanagedAnnotation] == "true" {
			continue
		}
		patch := client.MergeFrom(gwc.DeepCopy())
		if gwc.Annotations == nil {
			gwc.Annotations = map[string]string{}
		}
		gwc.Annotations[unmanagedAnnotation] = "true"
		_ = c.Patch(ctx, gwc, patch)
	}
}

func TestGatewayConformance(t *testing.T) {
	if os.Getenv("KUBECONFIG") == "" {
		t.Skip("KUBECONFIG is not set: run this through `nox -s gateway_conformance`, which starts the cluster and kic-trio")
	}
	opts := conformance.DefaultOptions(t)
	opts.RoundTripper = refusingRoundTripper{}
	opts.GRPCClient = refusingGRPC{}
	opts.WebSocketDialer = refusingDialer{}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ensureGatewayClass(ctx, t, opts.Client, opts.GatewayClassName)
	go annotateBumpClass(ctx, opts.Client)

	conformance.RunConformanceWithOptions(t, opts)
}

// listedTest is one entry of the suite's own test table, as the harness reads it.
type listedTest struct {
	ShortName   string   `json:"shortName"`
	Description string   `json:"description"`
	Features    []string `json:"features"`
	Provisional bool     `json:"provisional"`
}

// TestListConformanceTests writes the suite's test table (name, features) to
// $GWCONF_LIST_OUT, so the harness classifies exactly the tests this pinned version has and
// notices one its traffic/status table does not know. Needs no cluster.
func TestListConformanceTests(t *testing.T) {
	out := os.Getenv("GWCONF_LIST_OUT")
	if out == "" {
		t.Skip("GWCONF_LIST_OUT is not set: the harness sets it to where the list goes")
	}
	listed := make([]listedTest, 0, len(tests.ConformanceTests))
	for _, ct := range tests.ConformanceTests {
		feats := make([]string, 0, len(ct.Features))
		for _, f := range ct.Features {
			feats = append(feats, string(f))
		}
		listed = append(listed, listedTest{ct.ShortName, ct.Description, feats, ct.Provisional})
	}
	data, err := json.MarshalIndent(listed, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, data, 0o600))
}
