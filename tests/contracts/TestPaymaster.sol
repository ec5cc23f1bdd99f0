// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "@account-abstraction/contracts/core/BasePaymaster.sol";

/// Test paymaster (EntryPoint v0.7): sponsors every UserOperation and reports its fee in postOp.
/// paymasterData = token (20 bytes) ++ feeAmount (uint256, 32 bytes); shorter data means token 0, fee 0.
/// PostOpHandled.mode is the PostOpMode given to postOp: 0 opSucceeded, 1 opReverted
/// (2 postOpReverted is never passed to postOp by EntryPoint v0.7).
contract TestPaymaster is BasePaymaster {
    event PostOpHandled(
        bytes32 indexed userOpHash,
        address indexed sender,
        address indexed token,
        uint256 actualGasCost,
        uint256 feeAmount,
        uint8 mode
    );

    constructor(IEntryPoint entryPoint_) BasePaymaster(entryPoint_) {}

    function _validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256)
        internal
        pure
        override
        returns (bytes memory context, uint256 validationData)
    {
        bytes calldata data = userOp.paymasterAndData[PAYMASTER_DATA_OFFSET:];
        address token;
        uint256 fee;
        if (data.length >= 52) {
            token = address(bytes20(data[0:20]));
            fee = uint256(bytes32(data[20:52]));
        }
        return (abi.encode(userOpHash, userOp.sender, token, fee), 0);
    }

    function _postOp(PostOpMode mode, bytes calldata context, uint256 actualGasCost, uint256) internal override {
        (bytes32 userOpHash, address sender, address token, uint256 fee) =
            abi.decode(context, (bytes32, address, address, uint256));
        emit PostOpHandled(userOpHash, sender, token, actualGasCost, fee, uint8(mode));
    }
}
