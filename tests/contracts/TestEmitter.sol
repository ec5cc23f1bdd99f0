// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// Test contract for the watcher: drives workflows through every status and emits cheap bulk events with
/// the exact signature of the ERC-4337 EntryPoint's UserOperationEvent.
contract TestEmitter {
    event WorkflowStarted(bytes32 indexed workflowId, address indexed initiator);
    event DecisionRecorded(bytes32 indexed workflowId, bool approved, string reason);
    event SettlementRecorded(bytes32 indexed workflowId, address indexed from, address indexed to, uint256 amount);
    event WorkflowCompleted(bytes32 indexed workflowId);
    event WorkflowFailed(bytes32 indexed workflowId, string reason);
    event UserOperationEvent(
        bytes32 indexed userOpHash,
        address indexed sender,
        address indexed paymaster,
        uint256 nonce,
        bool success,
        uint256 actualGasCost,
        uint256 actualGasUsed
    );

    uint256 public counter;

    function start(bytes32 workflowId) external {
        emit WorkflowStarted(workflowId, msg.sender);
    }

    function decide(bytes32 workflowId, bool approved, string calldata reason) external {
        emit DecisionRecorded(workflowId, approved, reason);
    }

    function settle(bytes32 workflowId, address from, address to, uint256 amount) external {
        emit SettlementRecorded(workflowId, from, to, amount);
    }

    function complete(bytes32 workflowId) external {
        emit WorkflowCompleted(workflowId);
    }

    function fail(bytes32 workflowId, string calldata reason) external {
        emit WorkflowFailed(workflowId, reason);
    }

    /// Emits n UserOperationEvent-shaped events with varying values.
    function emitMany(uint256 n) external {
        uint256 c = counter;
        for (uint256 i = 0; i < n; i++) {
            uint256 k = c + i;
            bytes32 h = keccak256(abi.encode(k, block.number));
            address sender = address(uint160(0x5000 + (k % 50)));
            address paymaster = k % 3 == 0 ? address(0) : address(uint160(0x1000 + (k % 7)));
            emit UserOperationEvent(h, sender, paymaster, k, k % 10 != 0, uint256(h) % 1e15, 21000 + (k % 100000));
        }
        counter = c + n;
    }

    /// Always reverts: a UserOperation calling it ends with success = false (post-op mode opReverted).
    function alwaysReverts() external pure {
        revert("TestEmitter: always reverts");
    }
}
