// Sandbox tests run one class at a time. In a parallel run a bubblewrap sandbox was once killed
// (exit 137) while another test's hostile sandboxes were being torn down: a suspected
// cross-sandbox kill in the backends' teardown, tracked in issue 3's notes, not yet fixed.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
