//! `sol!` bindings: EntryPoint v0.6, v0.7 and v0.8, SimpleAccount(Factory), VerifyingPaymaster, the
//! `owner()` most paymasters expose and the paymaster event of the seeds. The v0.7 and v0.8 EntryPoints
//! share one ABI for everything butler calls; v0.6 differs in the UserOperation layout only. The
//! interfaces marked `abi` also give their JSON ABI (served by `GET /api/public/deployments?abi=true`).

#![allow(missing_docs)]

use alloy::sol;

sol! {
    /// Stake and deposit as `getDepositInfo` returns them (v0.6 packs `deposit` as uint112; the ABI word is the same).
    struct DepositInfo {
        uint256 deposit;
        bool staked;
        uint112 stake;
        uint32 unstakeDelaySec;
        uint48 withdrawTime;
    }

    /// The v0.7/v0.8 packed UserOperation.
    struct PackedUserOperation {
        address sender;
        uint256 nonce;
        bytes initCode;
        bytes callData;
        bytes32 accountGasLimits;
        uint256 preVerificationGas;
        bytes32 gasFees;
        bytes paymasterAndData;
        bytes signature;
    }

    /// EntryPoint v0.7 and v0.8 (the calls and events butler uses).
    #[sol(rpc, abi)]
    interface IEntryPoint {
        event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed);
        event AccountDeployed(bytes32 indexed userOpHash, address indexed sender, address factory, address paymaster);
        event UserOperationRevertReason(bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason);
        event Deposited(address indexed account, uint256 totalDeposit);
        event Withdrawn(address indexed account, address withdrawAddress, uint256 amount);
        event StakeLocked(address indexed account, uint256 totalStaked, uint256 unstakeDelaySec);

        function getDepositInfo(address account) external view returns (DepositInfo memory info);
        function balanceOf(address account) external view returns (uint256);
        function depositTo(address account) external payable;
        function getNonce(address sender, uint192 key) external view returns (uint256 nonce);
        function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
    }

    /// EntryPoint v0.6 UserOperation.
    struct UserOperationV06 {
        address sender;
        uint256 nonce;
        bytes initCode;
        bytes callData;
        uint256 callGasLimit;
        uint256 verificationGasLimit;
        uint256 preVerificationGas;
        uint256 maxFeePerGas;
        uint256 maxPriorityFeePerGas;
        bytes paymasterAndData;
        bytes signature;
    }

    /// EntryPoint v0.6 (same events; its own UserOperation layout).
    #[sol(rpc)]
    interface IEntryPointV06 {
        event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed);
        function getDepositInfo(address account) external view returns (DepositInfo memory info);
        function balanceOf(address account) external view returns (uint256);
        function getNonce(address sender, uint192 key) external view returns (uint256 nonce);
        function getUserOpHash(UserOperationV06 calldata userOp) external view returns (bytes32);
    }

    /// eth-infinitism SimpleAccountFactory (v0.7 and v0.8).
    #[sol(rpc, abi)]
    interface ISimpleAccountFactory {
        function createAccount(address owner, uint256 salt) external returns (address);
        function getAddress(address owner, uint256 salt) external view returns (address);
    }

    /// eth-infinitism SimpleAccount.
    interface ISimpleAccount {
        function execute(address dest, uint256 value, bytes calldata func) external;
    }

    /// eth-infinitism VerifyingPaymaster (v0.7).
    #[sol(rpc)]
    interface IVerifyingPaymaster {
        function getHash(PackedUserOperation calldata userOp, uint48 validUntil, uint48 validAfter) external view returns (bytes32);
        function verifyingSigner() external view returns (address);
    }

    /// `Ownable.owner()`, which most paymasters have.
    #[sol(rpc, abi)]
    interface IOwnable {
        function owner() external view returns (address);
    }

    /// The paymaster event of the seeds (mode 0 opSucceeded, 1 opReverted, 2 postOpReverted).
    #[sol(abi)]
    interface IPostOpHandled {
        event PostOpHandled(bytes32 indexed userOpHash, address indexed sender, address indexed token, uint256 actualGasCost, uint256 feeAmount, uint8 mode);
    }
}
