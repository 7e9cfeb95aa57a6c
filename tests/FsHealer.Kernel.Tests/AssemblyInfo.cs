// Real-kernel tests share loop devices, the kernel log, process-wide fd counts and CPU with each other: run them one
// at a time so that no-leak and latency checks measure only the test at hand.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
