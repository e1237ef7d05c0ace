!> gpuasync: asynchronous GPU compute over Vulkan, for Fortran programs.
!>
!> Two layers, both public:
!>
!> - Raw `bind(c)` interfaces, one per C function of `include/gpuasync.h`, with
!>   the C names (`gpuasync_buffer_create`, ...). Every C struct `gpuasync_X`
!>   is `type(c_gpuasync_X)` here (`c_gpuasync_buffer`, `c_gpuasync_op`, ...).
!> - Derived types `gpuasync_executor`, `gpuasync_buffer`, `gpuasync_kernel`
!>   and `gpuasync_batch`, each wrapping its C handle, with type-bound
!>   procedures. Buffers, kernels and batches remember their executor. A batch
!>   is made from `gpuasync_batch_op` values (`gpuasync_dispatch_op`,
!>   `gpuasync_copy_op`, `gpuasync_fill_op`) and replayed with optional
!>   `gpuasync_push_update` values; op numbers count from 1.
!>   The built-in kernels are type-bound procedures of the executor
!>   (`ex%axpy`, `ex%dot`, `ex%gemm`, ...), each an asynchronous submission;
!>   the element type is the kind of their real scalar argument, or `kind=`
!>   (`real32`, the default, or `real64`) for those without one.
!>
!> Conventions of the derived-type layer:
!>
!> - Every procedure takes optional trailing `stat` and `errmsg`, as `allocate`
!>   does: `stat` is 0 on success, else a `GPUASYNC_*` status code, and
!>   `errmsg` receives the message. When `stat` is absent and the call fails,
!>   the program stops with the message (`error stop`).
!> - Tickets are `integer(int64)`. `poll` returns `logical`; `wait` takes an
!>   optional timeout in seconds.
!> - Arrays passed to `create`, `write` and `read` must be contiguous: a
!>   non-contiguous array (`x(1:n:2)`) is an error, never a silent copy.
!> - An array registered with `ex%register` (page-aligned address and size)
!>   is copied by the GPU directly: a `write` from it must not be followed by
!>   changes to it until its ticket completes (see docs/async.md).
!> - A `read` fills its array when a later `poll` or `wait` first sees the
!>   ticket complete. Declare that array `asynchronous` (and `target` or
!>   `allocatable`), keep it in place and do not touch it until then.
!> - Objects are freed by an explicit `destroy`; there are no finalizers, since
!>   intrinsic assignment copies handles and a finalizer could free an object
!>   that a copy still uses. Destroying an executor frees its buffers and
!>   kernels; their handles then report `GPUASYNC_INVALID_HANDLE`.
module gpuasync
    use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_funptr, c_loc, c_f_pointer, c_associated, &
        c_int, c_int32_t, c_int64_t, c_size_t, c_char, c_double, c_null_char
    use, intrinsic :: iso_fortran_env, only: real32, real64, int8, int32, int64
    implicit none
    private

    ! ---- constants of include/gpuasync.h --------------------------------------

    !> Status codes (`gpuasync_status`): 0 is success.
    integer, parameter, public :: GPUASYNC_OK = 0
    integer, parameter, public :: GPUASYNC_NULL_ARGUMENT = 1
    integer, parameter, public :: GPUASYNC_INVALID_HANDLE = 2
    integer, parameter, public :: GPUASYNC_INVALID_ARGUMENT = 3
    integer, parameter, public :: GPUASYNC_OUT_OF_RANGE = 4
    integer, parameter, public :: GPUASYNC_INVALID_SPIRV = 5
    integer, parameter, public :: GPUASYNC_KERNEL_MISMATCH = 6
    integer, parameter, public :: GPUASYNC_TIMEOUT = 100
    integer, parameter, public :: GPUASYNC_NOT_READY = 101
    integer, parameter, public :: GPUASYNC_WOULD_BLOCK = 102
    integer, parameter, public :: GPUASYNC_NOT_FOUND = 103
    integer, parameter, public :: GPUASYNC_NO_DEVICE = 200
    integer, parameter, public :: GPUASYNC_UNSUPPORTED = 201
    integer, parameter, public :: GPUASYNC_OUT_OF_DEVICE_MEMORY = 202
    integer, parameter, public :: GPUASYNC_OUT_OF_HOST_MEMORY = 203
    integer, parameter, public :: GPUASYNC_DEVICE_LOST = 204
    integer, parameter, public :: GPUASYNC_VULKAN_ERROR = 205
    integer, parameter, public :: GPUASYNC_IO_ERROR = 206
    integer, parameter, public :: GPUASYNC_INTERNAL = 999

    !> Buffer kinds: device-local (default), host-visible (mappable), readback.
    integer, parameter, public :: GPUASYNC_BUFFER_DEVICE_LOCAL = 0
    integer, parameter, public :: GPUASYNC_BUFFER_HOST_VISIBLE = 1
    integer, parameter, public :: GPUASYNC_BUFFER_READBACK = 2

    !> `c_gpuasync_device_info%device_type` values, best first.
    integer, parameter, public :: GPUASYNC_DEVICE_TYPE_DISCRETE_GPU = 4
    integer, parameter, public :: GPUASYNC_DEVICE_TYPE_INTEGRATED_GPU = 3
    integer, parameter, public :: GPUASYNC_DEVICE_TYPE_VIRTUAL_GPU = 2
    integer, parameter, public :: GPUASYNC_DEVICE_TYPE_CPU = 1
    integer, parameter, public :: GPUASYNC_DEVICE_TYPE_OTHER = 0

    !> `c_gpuasync_executor_desc%flags`: the Khronos validation layer (C
    !> `GPUASYNC_EXECUTOR_VALIDATION`, renamed: Fortran names ignore case and
    !> that one is the function `gpuasync_executor_validation`).
    integer, parameter, public :: GPUASYNC_EXECUTOR_VALIDATION_FLAG = 1

    !> `c_gpuasync_executor_desc%flags`: waits sleep at once, never spin.
    integer, parameter, public :: GPUASYNC_EXECUTOR_NO_SPIN = 2

    !> `c_gpuasync_op%kind` values (raw `gpuasync_executor_submit`).
    integer, parameter, public :: GPUASYNC_OP_WRITE = 1
    integer, parameter, public :: GPUASYNC_OP_READ = 2
    integer, parameter, public :: GPUASYNC_OP_COPY = 3
    integer, parameter, public :: GPUASYNC_OP_FILL = 4
    integer, parameter, public :: GPUASYNC_OP_DISPATCH = 5
    integer, parameter, public :: GPUASYNC_OP_BUILTIN = 6

    !> `c_gpuasync_builtin%kind` values: the built-in kernels (see
    !> `include/gpuasync.h` and `docs/kernels.md`).
    integer, parameter, public :: GPUASYNC_BUILTIN_FILL = 1
    integer, parameter, public :: GPUASYNC_BUILTIN_COPY = 2
    integer, parameter, public :: GPUASYNC_BUILTIN_SCALE = 3
    integer, parameter, public :: GPUASYNC_BUILTIN_AXPY = 4
    integer, parameter, public :: GPUASYNC_BUILTIN_ADD = 5
    integer, parameter, public :: GPUASYNC_BUILTIN_MUL = 6
    integer, parameter, public :: GPUASYNC_BUILTIN_SUM = 7
    integer, parameter, public :: GPUASYNC_BUILTIN_DOT = 8
    integer, parameter, public :: GPUASYNC_BUILTIN_NRM2 = 9
    integer, parameter, public :: GPUASYNC_BUILTIN_AMAX = 10
    integer, parameter, public :: GPUASYNC_BUILTIN_GEMM = 11
    integer, parameter, public :: GPUASYNC_BUILTIN_CONVERT = 12
    integer, parameter, public :: GPUASYNC_BUILTIN_WIDEN = 13

    !> `c_gpuasync_builtin%type` values: the element type.
    integer, parameter, public :: GPUASYNC_F32 = 1
    integer, parameter, public :: GPUASYNC_F64 = 2
    !> 16-bit floats, for `gemm16`'s A and B, `convert`'s output and `widen`'s
    !> input: IEEE binary16 and bfloat16 (Fortran has no kind for either;
    !> buffers hold them).
    integer, parameter, public :: GPUASYNC_F16 = 3
    integer, parameter, public :: GPUASYNC_BF16 = 4

    !> Fill size meaning "to the end of the buffer" (UINT64_MAX).
    integer(c_int64_t), parameter, public :: GPUASYNC_WHOLE_SIZE = -1_c_int64_t

    !> Submit flag: GPU timestamps around the submission.
    integer, parameter, public :: GPUASYNC_SUBMIT_TIMESTAMPS = 1
    !> Submit flag: return `GPUASYNC_WOULD_BLOCK` instead of waiting when the
    !> executor is at its bound of submissions in flight.
    integer, parameter, public :: GPUASYNC_SUBMIT_NO_BLOCK = 2
    !> Submit flag: also time every op (see `executor%op_timing`); the ops of
    !> the submission then run one after another.
    integer, parameter, public :: GPUASYNC_SUBMIT_OP_TIMESTAMPS = 4

    !> `wait` timeout meaning "no limit" (UINT64_MAX nanoseconds).
    integer(c_int64_t), parameter, public :: GPUASYNC_NO_TIMEOUT_NS = -1_c_int64_t

    ! ---- interoperable mirrors of the C structs --------------------------------
    ! Unsigned C fields are signed here: the same bits, read as two's complement.

    !> C `gpuasync_executor`: a 64-bit id, zero is the null handle.
    type, bind(c), public :: c_gpuasync_executor
        integer(c_int64_t) :: id = 0
    end type c_gpuasync_executor

    !> C `gpuasync_buffer`.
    type, bind(c), public :: c_gpuasync_buffer
        integer(c_int64_t) :: id = 0
    end type c_gpuasync_buffer

    !> C `gpuasync_kernel`.
    type, bind(c), public :: c_gpuasync_kernel
        integer(c_int64_t) :: id = 0
    end type c_gpuasync_kernel

    !> C `gpuasync_device_info`.
    type, bind(c), public :: c_gpuasync_device_info
        integer(c_int32_t) :: index = 0
        character(kind=c_char) :: name(256) = c_null_char
        integer(c_int32_t) :: vendor_id = 0
        integer(c_int32_t) :: device_id = 0
        integer(c_int32_t) :: device_type = 0
        integer(c_int32_t) :: api_version = 0
        integer(c_int64_t) :: device_local_bytes = 0
        integer(c_int32_t) :: subgroup_size = 0
        integer(c_int32_t) :: timestamps = 0
        real(c_double) :: timestamp_period_ns = 0
        integer(c_int32_t) :: float64 = 0
        integer(c_int32_t) :: suitable = 0
        integer(c_int32_t) :: max_shared_memory = 0
    end type c_gpuasync_device_info

    !> C `gpuasync_executor_desc`; `device` points at a NUL-terminated string.
    type, bind(c), public :: c_gpuasync_executor_desc
        type(c_ptr) :: device = c_null_ptr
        integer(c_int32_t) :: flags = 0
        integer(c_int32_t) :: max_in_flight = 0
        integer(c_int64_t) :: spin_ns = 0
        type(c_ptr) :: pipeline_cache_path = c_null_ptr
        integer(c_int64_t) :: staging_bytes = 0
    end type c_gpuasync_executor_desc

    !> C `gpuasync_timing`: GPU timestamps and host times of one submission, in
    !> nanoseconds.
    type, bind(c), public :: c_gpuasync_timing
        integer(c_int64_t) :: gpu_begin_ns = 0
        integer(c_int64_t) :: gpu_end_ns = 0
        integer(c_int64_t) :: host_submit_ns = 0
        integer(c_int64_t) :: host_complete_ns = 0
    end type c_gpuasync_timing

    !> C `gpuasync_stats`: what an executor has done so far.
    type, bind(c), public :: c_gpuasync_stats
        integer(c_int64_t) :: submissions = 0
        integer(c_int64_t) :: queue_submissions = 0
        integer(c_int64_t) :: completed = 0
        integer(c_int64_t) :: bytes_written = 0
        integer(c_int64_t) :: bytes_read = 0
        integer(c_int64_t) :: timed_submissions = 0
        integer(c_int64_t) :: gpu_time_ns = 0
        integer(c_int64_t) :: transfer_submissions = 0
        integer(c_int64_t) :: split_submissions = 0
    end type c_gpuasync_stats

    !> C `gpuasync_spec_constant`: a 32-bit specialization constant.
    type, bind(c), public :: c_gpuasync_spec_constant
        integer(c_int32_t) :: id = 0
        integer(c_int32_t) :: value = 0
    end type c_gpuasync_spec_constant

    !> C `gpuasync_kernel_info`: a kernel's reflected interface.
    type, bind(c), public :: c_gpuasync_kernel_info
        integer(c_int32_t) :: binding_count = 0
        integer(c_int32_t) :: push_constant_size = 0
        integer(c_int32_t) :: local_size(3) = 0
    end type c_gpuasync_kernel_info

    !> C `gpuasync_operand`: a vector or matrix in a buffer; `offset` and `ld`
    !> count elements, and `offset` counts from 0.
    type, bind(c), public :: c_gpuasync_operand
        type(c_gpuasync_buffer) :: buffer
        integer(c_int64_t) :: offset = 0
        integer(c_int64_t) :: ld = 0
    end type c_gpuasync_operand

    !> C `gpuasync_builtin`: one built-in operation (`GPUASYNC_BUILTIN_*`) of
    !> element type `GPUASYNC_F32` or `GPUASYNC_F64` (`GPUASYNC_F16` or
    !> `GPUASYNC_BF16` for GEMM's A and B, CONVERT's output and WIDEN's input),
    !> for the raw `gpuasync_builtin_submit` or a `c_gpuasync_op` of kind
    !> `GPUASYNC_OP_BUILTIN`.
    type, bind(c), public :: c_gpuasync_builtin
        integer(c_int32_t) :: kind = 0
        integer(c_int32_t) :: type = 0
        integer(c_int32_t) :: trans_a = 0
        integer(c_int32_t) :: trans_b = 0
        integer(c_int64_t) :: m = 0
        integer(c_int64_t) :: n = 0
        integer(c_int64_t) :: k = 0
        real(c_double) :: alpha = 0
        real(c_double) :: beta = 0
        type(c_gpuasync_operand) :: a
        type(c_gpuasync_operand) :: b
        type(c_gpuasync_operand) :: c
    end type c_gpuasync_builtin

    !> C `gpuasync_op`: one step of a raw `gpuasync_executor_submit`.
    type, bind(c), public :: c_gpuasync_op
        integer(c_int32_t) :: kind = 0
        type(c_gpuasync_buffer) :: buffer
        integer(c_int64_t) :: offset = 0
        integer(c_int64_t) :: size = 0
        type(c_gpuasync_buffer) :: src
        integer(c_int64_t) :: src_offset = 0
        type(c_ptr) :: host_src = c_null_ptr
        type(c_ptr) :: host_dst = c_null_ptr
        integer(c_int32_t) :: fill_value = 0
        integer(c_int32_t) :: groups(3) = 0
        type(c_gpuasync_kernel) :: kernel
        type(c_ptr) :: bindings = c_null_ptr
        integer(c_int32_t) :: binding_count = 0
        integer(c_int32_t) :: push_constant_size = 0
        type(c_ptr) :: push_constants = c_null_ptr
        !> `GPUASYNC_OP_BUILTIN`: `c_loc` of a `type(c_gpuasync_builtin)`.
        type(c_ptr) :: builtin = c_null_ptr
    end type c_gpuasync_op

    !> C `gpuasync_batch`: a recorded batch of device-side ops.
    type, bind(c), public :: c_gpuasync_batch
        integer(c_int64_t) :: id = 0
    end type c_gpuasync_batch

    !> C `gpuasync_push_update`: new push constants for one dispatch of a batch.
    !> `op_index` counts from 0 here, as in C.
    type, bind(c), public :: c_gpuasync_push_update
        integer(c_int32_t) :: op_index = 0
        integer(c_int32_t) :: size = 0
        type(c_ptr) :: data = c_null_ptr
    end type c_gpuasync_push_update

    ! ---- the derived-type layer ------------------------------------------------

    !> An executor: one device and its asynchronous queue.
    type, public :: gpuasync_executor
        !> The C handle; zero until `create`, and again after `destroy`.
        type(c_gpuasync_executor) :: handle
    contains
        !> Create on the best device (or `device`: index or name substring).
        procedure :: create => executor_create
        !> Wait for all work, then free the executor and everything it owns.
        procedure :: destroy => executor_destroy
        !> Whether `create` succeeded and `destroy` has not run on this variable.
        procedure :: is_created => executor_is_created
        !> Whether a ticket is complete (never blocks).
        procedure :: poll => executor_poll
        !> Block until a ticket completes, or an optional timeout passes.
        procedure :: wait => executor_wait
        !> Block until all submitted work completes.
        procedure :: wait_idle => executor_wait_idle
        !> GPU timestamps of a ticket submitted with `timestamps=.true.`.
        procedure :: timing => executor_timing
        !> GPU span of op `op` (1-based) of a ticket submitted with
        !> GPUASYNC_SUBMIT_OP_TIMESTAMPS.
        procedure :: op_timing => executor_op_timing
        !> Bytes that `register` needs the array's address and size to be multiples of.
        procedure :: host_alignment => executor_host_alignment
        procedure :: stats => executor_stats
        procedure :: trace => executor_trace
        !> Whether validation is on, and how many messages it reported.
        procedure :: validation => executor_validation
        !> The device's description (C struct).
        procedure :: device_info => executor_device_info
        !> The device's name.
        procedure :: device_name => executor_device_name
        ! Built-in kernels, each one asynchronous submission returning a ticket.
        ! Element type: the kind of the real scalar argument (`value`, `alpha`,
        ! `beta`), else the optional `kind=` (`real32`, the default, or `real64`).
        procedure, private :: executor_fill_r32, executor_fill_r64, executor_scale_r32, executor_scale_r64, &
            executor_axpy_r32, executor_axpy_r64, executor_gemm_r32, executor_gemm_r64
        !> `x(i) = value`, i = 1..n.
        generic :: fill => executor_fill_r32, executor_fill_r64
        !> `y(i) = x(i)`.
        procedure :: copy => executor_copy
        !> `x(i) = alpha * x(i)` (in place).
        generic :: scale => executor_scale_r32, executor_scale_r64
        !> `y(i) = alpha * x(i) + y(i)`.
        generic :: axpy => executor_axpy_r32, executor_axpy_r64
        !> `z(i) = x(i) + y(i)`.
        procedure :: add => executor_add
        !> `z(i) = x(i) * y(i)`.
        procedure :: mul => executor_mul
        !> `result(1) = sum(x)` (compensated summation).
        procedure :: sum => executor_sum
        !> `result(1) = dot_product(x, y)` (compensated).
        procedure :: dot => executor_dot
        !> `result(1) = norm2(x)` (no overflow or harmful underflow).
        procedure :: nrm2 => executor_nrm2
        !> `result(1) = maxval(abs(x))` (NaN if any x(i) is NaN).
        procedure :: amax => executor_amax
        !> `C = alpha * op(A) * op(B) + beta * C`, as BLAS `sgemm`/`dgemm`.
        generic :: gemm => executor_gemm_r32, executor_gemm_r64
        !> `y(i) = x(i)` rounded from `real32` to 16 bits (`type=` `GPUASYNC_F16`,
        !> the default, or `GPUASYNC_BF16`), to nearest with ties to even.
        procedure :: convert => executor_convert
        !> `y(i) = x(i)` widened from 16 bits (`type=`) to `real32`, exactly.
        procedure :: widen => executor_widen
        !> `C = alpha * op(A) * op(B) + beta * C` with A and B of 16-bit floats
        !> and C of `real32`, on cooperative matrices (tensor cores).
        procedure :: gemm16 => executor_gemm16
        !> Whether `gemm16` runs here with `type` (`GPUASYNC_F16` or `GPUASYNC_BF16`) inputs.
        procedure :: cooperative_matrix => executor_cooperative_matrix
        include 'gpuasync_executor_bindings.inc'
    end type gpuasync_executor

    !> A buffer of device memory owned by one executor.
    type, public :: gpuasync_buffer
        !> The owning executor's C handle.
        type(c_gpuasync_executor) :: executor
        !> The C handle; zero until `create`, and again after `destroy`.
        type(c_gpuasync_buffer) :: handle
    contains
        procedure, private :: buffer_create_bytes_i32
        procedure, private :: buffer_create_bytes_i64
        include 'gpuasync_bindings.inc'
        !> Free the buffer (deferred until work using it completes).
        procedure :: destroy => buffer_destroy
        !> Whether `create` succeeded and `destroy` has not run on this variable.
        procedure :: is_created => buffer_is_created
        !> The buffer's size in bytes (-1 on an error reported through `stat`).
        procedure :: size_bytes => buffer_size_bytes
        !> Fill bytes with a 32-bit pattern, asynchronously.
        procedure :: fill => buffer_fill
        !> Copy bytes from another buffer of the same executor, asynchronously.
        procedure :: copy_from => buffer_copy_from
    end type gpuasync_buffer

    !> A compute kernel (a SPIR-V entry point) owned by one executor.
    type, public :: gpuasync_kernel
        !> The owning executor's C handle.
        type(c_gpuasync_executor) :: executor
        !> The C handle; zero until `create`, and again after `destroy`.
        type(c_gpuasync_kernel) :: handle
    contains
        procedure, private :: kernel_create_from_file
        procedure, private :: kernel_create_from_words
        !> Create from a `.spv` file path or from SPIR-V words in memory.
        generic :: create => kernel_create_from_file, kernel_create_from_words
        !> Free the kernel (deferred until work using it completes).
        procedure :: destroy => kernel_destroy
        !> Whether `create` succeeded and `destroy` has not run on this variable.
        procedure :: is_created => kernel_is_created
        !> The reflected interface: bindings, push-constant bytes, workgroup size.
        procedure :: info => kernel_info
        !> Run the kernel over a grid of workgroups as its own submission.
        procedure :: dispatch => kernel_dispatch
    end type gpuasync_kernel

    !> One device-side op of a batch (a dispatch, a copy or a fill), made by
    !> `gpuasync_dispatch_op`, `gpuasync_copy_op` or `gpuasync_fill_op`. It owns
    !> copies of its buffer handles and push-constant bytes, so the arguments it
    !> was made from may change or go away. A problem found while making it
    !> (e.g. a non-contiguous push block) is reported by `batch%create`.
    type, public :: gpuasync_batch_op
        private
        !> `GPUASYNC_OP_COPY`, `_FILL` or `_DISPATCH`; 0: not made by a helper.
        integer(c_int32_t) :: kind = 0
        !> The executor of the op's kernel and buffers (zero: none created).
        type(c_gpuasync_executor) :: executor
        type(c_gpuasync_buffer) :: buffer, src
        integer(c_int64_t) :: offset = 0, size = 0, src_offset = 0
        integer(c_int32_t) :: fill_value = 0
        integer(c_int32_t) :: groups(3) = 1
        type(c_gpuasync_kernel) :: kernel
        type(c_gpuasync_buffer), allocatable :: bindings(:)
        integer(int8), allocatable :: push(:)
        !> A problem found by the helper: its status and message.
        integer :: status = GPUASYNC_OK
        character(len=:), allocatable :: problem
    end type gpuasync_batch_op

    !> New push constants for one dispatch of a batch, for a replay and the
    !> ones after it: `gpuasync_push_update(op, push, push_bytes)`, `op`
    !> counting from 1 in the batch's op list. Owns a copy of the bytes.
    type, public :: gpuasync_push_update
        private
        integer :: op = 0
        integer(int8), allocatable :: bytes(:)
        integer :: status = GPUASYNC_OK
        character(len=:), allocatable :: problem
    end type gpuasync_push_update

    !> Makes a `gpuasync_push_update` (the type's components are private).
    interface gpuasync_push_update
        module procedure push_update_new
    end interface gpuasync_push_update

    !> A recorded batch of device-side ops (dispatches, copies, fills) owned by
    !> one executor, replayed with one call; push constants may change per replay.
    type, public :: gpuasync_batch
        !> The owning executor's C handle.
        type(c_gpuasync_executor) :: executor
        !> The C handle; zero until `create`, and again after `destroy`.
        type(c_gpuasync_batch) :: handle
    contains
        !> Record a list of ops (checked now, like a submission).
        procedure :: create => batch_create
        !> Run the recorded ops as one submission, with optional push updates.
        procedure :: replay => batch_replay
        !> Free the batch (deferred until a replay in flight completes).
        procedure :: destroy => batch_destroy
        !> Whether `create` succeeded and `destroy` has not run on this variable.
        procedure :: is_created => batch_is_created
    end type gpuasync_batch

    public :: gpuasync_dispatch_op, gpuasync_copy_op, gpuasync_fill_op

    public :: gpuasync_status_name, gpuasync_last_message, gpuasync_library_version

    ! ---- raw C interfaces, one per function of include/gpuasync.h --------------
    ! C `enum gpuasync_status` results are `integer(c_int)`; C `uint32_t`
    ! arguments and results are `integer(c_int32_t)`, `uint64_t` `integer(c_int64_t)`.

    public :: gpuasync_buffer_create, gpuasync_buffer_destroy, gpuasync_buffer_size, gpuasync_buffer_map, &
        gpuasync_buffer_write, gpuasync_buffer_read, gpuasync_buffer_fill, gpuasync_buffer_copy, &
        gpuasync_device_count, gpuasync_device_describe, gpuasync_executor_create, gpuasync_executor_destroy, &
        gpuasync_executor_device_info, gpuasync_executor_validation, gpuasync_executor_wait_idle, &
        gpuasync_ticket_poll, gpuasync_ticket_wait, gpuasync_ticket_timing, gpuasync_ticket_op_timing, gpuasync_kernel_create, &
        gpuasync_kernel_create_from_file, gpuasync_kernel_describe, gpuasync_kernel_destroy, &
        gpuasync_kernel_dispatch, gpuasync_version, gpuasync_status_string, gpuasync_last_error, &
        gpuasync_executor_submit, gpuasync_batch_create, gpuasync_batch_replay, gpuasync_batch_destroy, &
        gpuasync_builtin_submit, gpuasync_host_register, gpuasync_host_unregister, gpuasync_host_alignment, &
        gpuasync_executor_cooperative_matrix

    interface
        function gpuasync_buffer_create(executor, size, kind, buffer) &
                result(status) bind(c, name="gpuasync_buffer_create")
            import :: c_int, c_int32_t, c_int64_t, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int64_t), value, intent(in) :: size
            integer(c_int32_t), value, intent(in) :: kind
            type(c_gpuasync_buffer), intent(out) :: buffer
            integer(c_int) :: status
        end function gpuasync_buffer_create

        function gpuasync_buffer_destroy(executor, buffer) result(status) bind(c, name="gpuasync_buffer_destroy")
            import :: c_int, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: buffer
            integer(c_int) :: status
        end function gpuasync_buffer_destroy

        function gpuasync_buffer_size(executor, buffer, size) result(status) bind(c, name="gpuasync_buffer_size")
            import :: c_int, c_int64_t, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: buffer
            integer(c_int64_t), intent(out) :: size
            integer(c_int) :: status
        end function gpuasync_buffer_size

        function gpuasync_buffer_map(executor, buffer, pointer) result(status) bind(c, name="gpuasync_buffer_map")
            import :: c_int, c_ptr, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: buffer
            type(c_ptr), intent(out) :: pointer
            integer(c_int) :: status
        end function gpuasync_buffer_map

        function gpuasync_buffer_write(executor, buffer, offset, data, size, flags, ticket) &
                result(status) bind(c, name="gpuasync_buffer_write")
            import :: c_int, c_int32_t, c_int64_t, c_size_t, c_ptr, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: buffer
            integer(c_int64_t), value, intent(in) :: offset
            type(c_ptr), value, intent(in) :: data
            integer(c_size_t), value, intent(in) :: size
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_buffer_write

        function gpuasync_buffer_read(executor, buffer, offset, destination, size, flags, ticket) &
                result(status) bind(c, name="gpuasync_buffer_read")
            import :: c_int, c_int32_t, c_int64_t, c_size_t, c_ptr, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: buffer
            integer(c_int64_t), value, intent(in) :: offset
            type(c_ptr), value, intent(in) :: destination
            integer(c_size_t), value, intent(in) :: size
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_buffer_read

        function gpuasync_buffer_fill(executor, buffer, offset, size, value, flags, ticket) &
                result(status) bind(c, name="gpuasync_buffer_fill")
            import :: c_int, c_int32_t, c_int64_t, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: buffer
            integer(c_int64_t), value, intent(in) :: offset
            integer(c_int64_t), value, intent(in) :: size
            integer(c_int32_t), value, intent(in) :: value
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_buffer_fill

        function gpuasync_buffer_copy(executor, source, source_offset, destination, destination_offset, size, &
                flags, ticket) result(status) bind(c, name="gpuasync_buffer_copy")
            import :: c_int, c_int32_t, c_int64_t, c_gpuasync_executor, c_gpuasync_buffer
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_buffer), value, intent(in) :: source
            integer(c_int64_t), value, intent(in) :: source_offset
            type(c_gpuasync_buffer), value, intent(in) :: destination
            integer(c_int64_t), value, intent(in) :: destination_offset
            integer(c_int64_t), value, intent(in) :: size
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_buffer_copy

        function gpuasync_device_count(count) result(status) bind(c, name="gpuasync_device_count")
            import :: c_int, c_int32_t
            integer(c_int32_t), intent(out) :: count
            integer(c_int) :: status
        end function gpuasync_device_count

        function gpuasync_device_describe(index, info) result(status) bind(c, name="gpuasync_device_describe")
            import :: c_int, c_int32_t, c_gpuasync_device_info
            integer(c_int32_t), value, intent(in) :: index
            type(c_gpuasync_device_info), intent(out) :: info
            integer(c_int) :: status
        end function gpuasync_device_describe

        function gpuasync_executor_create(desc, executor) result(status) bind(c, name="gpuasync_executor_create")
            import :: c_int, c_gpuasync_executor_desc, c_gpuasync_executor
            type(c_gpuasync_executor_desc), intent(in) :: desc
            type(c_gpuasync_executor), intent(out) :: executor
            integer(c_int) :: status
        end function gpuasync_executor_create

        function gpuasync_executor_destroy(executor) result(status) bind(c, name="gpuasync_executor_destroy")
            import :: c_int, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int) :: status
        end function gpuasync_executor_destroy

        function gpuasync_executor_device_info(executor, info) &
                result(status) bind(c, name="gpuasync_executor_device_info")
            import :: c_int, c_gpuasync_executor, c_gpuasync_device_info
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_device_info), intent(out) :: info
            integer(c_int) :: status
        end function gpuasync_executor_device_info

        function gpuasync_executor_validation(executor, enabled, messages) &
                result(status) bind(c, name="gpuasync_executor_validation")
            import :: c_int, c_int32_t, c_int64_t, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int32_t), intent(out) :: enabled
            integer(c_int64_t), intent(out) :: messages
            integer(c_int) :: status
        end function gpuasync_executor_validation

        function gpuasync_executor_wait_idle(executor) result(status) bind(c, name="gpuasync_executor_wait_idle")
            import :: c_int, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int) :: status
        end function gpuasync_executor_wait_idle

        function gpuasync_ticket_poll(executor, ticket) result(status) bind(c, name="gpuasync_ticket_poll")
            import :: c_int, c_int64_t, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int64_t), value, intent(in) :: ticket
            integer(c_int) :: status
        end function gpuasync_ticket_poll

        function gpuasync_ticket_wait(executor, ticket, timeout_ns) result(status) bind(c, name="gpuasync_ticket_wait")
            import :: c_int, c_int64_t, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int64_t), value, intent(in) :: ticket
            integer(c_int64_t), value, intent(in) :: timeout_ns
            integer(c_int) :: status
        end function gpuasync_ticket_wait

        function gpuasync_executor_trace(executor, path) result(status) bind(c, name="gpuasync_executor_trace")
            import :: c_int, c_ptr, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_ptr), value, intent(in) :: path
            integer(c_int) :: status
        end function gpuasync_executor_trace

        function gpuasync_host_register(executor, pointer, length) result(status) &
                bind(c, name="gpuasync_host_register")
            import :: c_int, c_ptr, c_size_t, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_ptr), value, intent(in) :: pointer
            integer(c_size_t), value, intent(in) :: length
            integer(c_int) :: status
        end function gpuasync_host_register

        function gpuasync_host_unregister(executor, pointer) result(status) bind(c, name="gpuasync_host_unregister")
            import :: c_int, c_ptr, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_ptr), value, intent(in) :: pointer
            integer(c_int) :: status
        end function gpuasync_host_unregister

        function gpuasync_host_alignment(executor, alignment) result(status) bind(c, name="gpuasync_host_alignment")
            import :: c_int, c_size_t, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_size_t), intent(out) :: alignment
            integer(c_int) :: status
        end function gpuasync_host_alignment

        function gpuasync_executor_stats(executor, stats) result(status) bind(c, name="gpuasync_executor_stats")
            import :: c_int, c_gpuasync_executor, c_gpuasync_stats
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_stats), intent(out) :: stats
            integer(c_int) :: status
        end function gpuasync_executor_stats

        function gpuasync_ticket_timing(executor, ticket, timing) result(status) bind(c, name="gpuasync_ticket_timing")
            import :: c_int, c_int64_t, c_gpuasync_executor, c_gpuasync_timing
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int64_t), value, intent(in) :: ticket
            type(c_gpuasync_timing), intent(out) :: timing
            integer(c_int) :: status
        end function gpuasync_ticket_timing

        function gpuasync_ticket_op_timing(executor, ticket, op_index, timing) result(status) &
                bind(c, name="gpuasync_ticket_op_timing")
            import :: c_int, c_int32_t, c_int64_t, c_gpuasync_executor, c_gpuasync_timing
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int64_t), value, intent(in) :: ticket
            integer(c_int32_t), value, intent(in) :: op_index
            type(c_gpuasync_timing), intent(out) :: timing
            integer(c_int) :: status
        end function gpuasync_ticket_op_timing

        function gpuasync_kernel_create(executor, words, word_count, entry, spec, spec_count, kernel) &
                result(status) bind(c, name="gpuasync_kernel_create")
            import :: c_int, c_size_t, c_ptr, c_gpuasync_executor, c_gpuasync_kernel
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_ptr), value, intent(in) :: words
            integer(c_size_t), value, intent(in) :: word_count
            type(c_ptr), value, intent(in) :: entry
            type(c_ptr), value, intent(in) :: spec
            integer(c_size_t), value, intent(in) :: spec_count
            type(c_gpuasync_kernel), intent(out) :: kernel
            integer(c_int) :: status
        end function gpuasync_kernel_create

        function gpuasync_kernel_create_from_file(executor, path, entry, spec, spec_count, kernel) &
                result(status) bind(c, name="gpuasync_kernel_create_from_file")
            import :: c_int, c_size_t, c_ptr, c_gpuasync_executor, c_gpuasync_kernel
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_ptr), value, intent(in) :: path
            type(c_ptr), value, intent(in) :: entry
            type(c_ptr), value, intent(in) :: spec
            integer(c_size_t), value, intent(in) :: spec_count
            type(c_gpuasync_kernel), intent(out) :: kernel
            integer(c_int) :: status
        end function gpuasync_kernel_create_from_file

        function gpuasync_kernel_describe(executor, kernel, info) result(status) bind(c, name="gpuasync_kernel_describe")
            import :: c_int, c_gpuasync_executor, c_gpuasync_kernel, c_gpuasync_kernel_info
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_kernel), value, intent(in) :: kernel
            type(c_gpuasync_kernel_info), intent(out) :: info
            integer(c_int) :: status
        end function gpuasync_kernel_describe

        function gpuasync_kernel_destroy(executor, kernel) result(status) bind(c, name="gpuasync_kernel_destroy")
            import :: c_int, c_gpuasync_executor, c_gpuasync_kernel
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_kernel), value, intent(in) :: kernel
            integer(c_int) :: status
        end function gpuasync_kernel_destroy

        function gpuasync_kernel_dispatch(executor, kernel, buffers, buffer_count, push_constants, &
                push_constant_size, groups_x, groups_y, groups_z, flags, ticket) &
                result(status) bind(c, name="gpuasync_kernel_dispatch")
            import :: c_int, c_int32_t, c_int64_t, c_size_t, c_ptr, c_gpuasync_executor, c_gpuasync_kernel
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_kernel), value, intent(in) :: kernel
            type(c_ptr), value, intent(in) :: buffers
            integer(c_size_t), value, intent(in) :: buffer_count
            type(c_ptr), value, intent(in) :: push_constants
            integer(c_size_t), value, intent(in) :: push_constant_size
            integer(c_int32_t), value, intent(in) :: groups_x, groups_y, groups_z
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_kernel_dispatch

        function gpuasync_version() result(version) bind(c, name="gpuasync_version")
            import :: c_int32_t
            integer(c_int32_t) :: version
        end function gpuasync_version

        function gpuasync_status_string(status) result(name) bind(c, name="gpuasync_status_string")
            import :: c_int32_t, c_ptr
            integer(c_int32_t), value, intent(in) :: status
            type(c_ptr) :: name
        end function gpuasync_status_string

        function gpuasync_last_error(buffer, length) result(full_length) bind(c, name="gpuasync_last_error")
            import :: c_size_t, c_char
            character(kind=c_char), intent(out) :: buffer(*)
            integer(c_size_t), value, intent(in) :: length
            integer(c_size_t) :: full_length
        end function gpuasync_last_error

        function gpuasync_executor_submit(executor, ops, op_count, flags, ticket) &
                result(status) bind(c, name="gpuasync_executor_submit")
            import :: c_int, c_int32_t, c_int64_t, c_size_t, c_gpuasync_executor, c_gpuasync_op
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_op), intent(in) :: ops(*)
            integer(c_size_t), value, intent(in) :: op_count
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_executor_submit

        function gpuasync_batch_create(executor, ops, op_count, batch) &
                result(status) bind(c, name="gpuasync_batch_create")
            import :: c_int, c_size_t, c_gpuasync_executor, c_gpuasync_op, c_gpuasync_batch
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_op), intent(in) :: ops(*)
            integer(c_size_t), value, intent(in) :: op_count
            type(c_gpuasync_batch), intent(out) :: batch
            integer(c_int) :: status
        end function gpuasync_batch_create

        function gpuasync_batch_replay(executor, batch, updates, update_count, flags, ticket) &
                result(status) bind(c, name="gpuasync_batch_replay")
            import :: c_int, c_int32_t, c_int64_t, c_size_t, c_gpuasync_executor, c_gpuasync_batch, &
                c_gpuasync_push_update
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_batch), value, intent(in) :: batch
            type(c_gpuasync_push_update), intent(in) :: updates(*)
            integer(c_size_t), value, intent(in) :: update_count
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_batch_replay

        function gpuasync_batch_destroy(executor, batch) result(status) bind(c, name="gpuasync_batch_destroy")
            import :: c_int, c_gpuasync_executor, c_gpuasync_batch
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_batch), value, intent(in) :: batch
            integer(c_int) :: status
        end function gpuasync_batch_destroy

        function gpuasync_executor_cooperative_matrix(executor, type, supported) &
                result(status) bind(c, name="gpuasync_executor_cooperative_matrix")
            import :: c_int, c_int32_t, c_gpuasync_executor
            type(c_gpuasync_executor), value, intent(in) :: executor
            integer(c_int32_t), value, intent(in) :: type
            integer(c_int32_t), intent(out) :: supported
            integer(c_int) :: status
        end function gpuasync_executor_cooperative_matrix

        function gpuasync_builtin_submit(executor, op, flags, ticket) &
                result(status) bind(c, name="gpuasync_builtin_submit")
            import :: c_int, c_int32_t, c_int64_t, c_gpuasync_executor, c_gpuasync_builtin
            type(c_gpuasync_executor), value, intent(in) :: executor
            type(c_gpuasync_builtin), intent(in) :: op
            integer(c_int32_t), value, intent(in) :: flags
            integer(c_int64_t), intent(out) :: ticket
            integer(c_int) :: status
        end function gpuasync_builtin_submit
    end interface

contains

    ! ---- status and messages ---------------------------------------------------

    !> The name of a status code, for example "GPUASYNC_TIMEOUT".
    function gpuasync_status_name(status) result(name)
        integer, intent(in) :: status
        character(len=:), allocatable :: name

        name = c_string(gpuasync_status_string(int(status, c_int32_t)))
    end function gpuasync_status_name

    !> This thread's last detailed error message from the C library ('' if none).
    function gpuasync_last_message() result(message)
        character(len=:), allocatable :: message
        character(kind=c_char) :: buffer(1024)
        integer(c_size_t) :: length
        integer :: i, n

        length = gpuasync_last_error(buffer, int(size(buffer), c_size_t))
        n = int(min(length, int(size(buffer) - 1, c_size_t)))
        allocate (character(len=n) :: message)
        do i = 1, n
            message(i:i) = buffer(i)
        end do
    end function gpuasync_last_message

    !> The library's version as MAJOR * 10000 + MINOR * 100 + PATCH.
    function gpuasync_library_version() result(version)
        integer :: version

        version = int(gpuasync_version())
    end function gpuasync_library_version

    !> A NUL-terminated C string as a Fortran string.
    function c_string(pointer) result(text)
        type(c_ptr), intent(in) :: pointer
        character(len=:), allocatable :: text
        character(kind=c_char), pointer :: chars(:)
        integer :: n

        text = ''
        if (.not. c_associated(pointer)) return
        call c_f_pointer(pointer, chars, [4096])
        n = 0
        do while (n < size(chars))
            if (chars(n + 1) == c_null_char) exit
            n = n + 1
            text = text // chars(n)
        end do
    end function c_string

    !> A Fortran string as a NUL-terminated C character array.
    pure subroutine to_c_chars(text, chars)
        character(len=*), intent(in) :: text
        character(kind=c_char), allocatable, intent(out) :: chars(:)
        integer :: i

        allocate (chars(len(text) + 1))
        do i = 1, len(text)
            chars(i) = text(i:i)
        end do
        chars(len(text) + 1) = c_null_char
    end subroutine to_c_chars

    !> Report the outcome of a call: set `stat` (and `errmsg` on failure) when
    !> present; on failure without `stat`, stop with the message. `detail`
    !> replaces the C library's last message for errors found on this side.
    subroutine report(status, procedure_name, stat, errmsg, detail)
        integer, intent(in) :: status
        character(len=*), intent(in) :: procedure_name
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        character(len=*), intent(in), optional :: detail
        character(len=:), allocatable :: message

        if (present(stat)) stat = status
        if (status == GPUASYNC_OK) return
        if (present(detail)) then
            message = detail
        else
            message = gpuasync_last_message()
        end if
        message = 'gpuasync: ' // procedure_name // ': ' // gpuasync_status_name(status) // ': ' // message
        if (present(errmsg)) errmsg = message
        if (.not. present(stat)) error stop message
    end subroutine report

    !> Submit flags from the optional `timestamps` argument.
    pure function submit_flags(timestamps) result(flags)
        logical, intent(in), optional :: timestamps
        integer(c_int32_t) :: flags

        flags = 0
        if (present(timestamps)) then
            if (timestamps) flags = GPUASYNC_SUBMIT_TIMESTAMPS
        end if
    end function submit_flags

    ! ---- liveness: `create` refuses to overwrite a handle that is still live -------
    ! (a stale one, e.g. of a destroyed executor, may be overwritten)

    !> Whether an executor handle refers to a live executor.
    logical function executor_is_live(handle) result(live)
        type(c_gpuasync_executor), intent(in) :: handle
        integer(c_int32_t) :: enabled
        integer(c_int64_t) :: messages

        live = .false.
        if (handle%id /= 0) live = gpuasync_executor_validation(handle, enabled, messages) == GPUASYNC_OK
    end function executor_is_live

    !> Whether a buffer variable refers to a live buffer.
    logical function buffer_is_live(buffer) result(live)
        type(gpuasync_buffer), intent(in) :: buffer
        integer(c_int64_t) :: bytes

        live = .false.
        if (buffer%handle%id /= 0) live = gpuasync_buffer_size(buffer%executor, buffer%handle, bytes) == GPUASYNC_OK
    end function buffer_is_live

    !> Whether a kernel variable refers to a live kernel.
    logical function kernel_is_live(kernel) result(live)
        type(gpuasync_kernel), intent(in) :: kernel
        type(c_gpuasync_kernel_info) :: info

        live = .false.
        if (kernel%handle%id /= 0) live = gpuasync_kernel_describe(kernel%executor, kernel%handle, info) == GPUASYNC_OK
    end function kernel_is_live

    ! ---- executor ----------------------------------------------------------------

    !> Create an executor on the best device, or on `device` (an index or a
    !> case-insensitive name substring; `GPUASYNC_DEVICE` overrides it).
    !> `validation`: load the Khronos validation layer (also on when
    !> `GPUASYNC_VALIDATION=1`). `max_in_flight`: submissions in flight before a
    !> submit waits for the oldest (default 1024).
    subroutine executor_create(self, device, validation, max_in_flight, stat, errmsg)
        class(gpuasync_executor), intent(inout) :: self
        character(len=*), intent(in), optional :: device
        logical, intent(in), optional :: validation
        integer, intent(in), optional :: max_in_flight
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_executor_desc) :: desc
        character(kind=c_char), allocatable, target :: device_chars(:)
        type(c_gpuasync_executor) :: handle
        integer :: status

        if (executor_is_live(self%handle)) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'executor%create', stat, errmsg, &
                'this executor variable already holds a live executor; destroy it first')
            return
        end if
        if (present(device)) then
            call to_c_chars(device, device_chars)
            desc%device = c_loc(device_chars)
        end if
        if (present(validation)) then
            if (validation) desc%flags = GPUASYNC_EXECUTOR_VALIDATION_FLAG
        end if
        if (present(max_in_flight)) desc%max_in_flight = int(max_in_flight, c_int32_t)
        status = gpuasync_executor_create(desc, handle)
        if (status == GPUASYNC_OK) self%handle = handle
        call report(status, 'executor%create', stat, errmsg)
    end subroutine executor_create

    !> Wait for all the executor's work (delivering pending reads), then free it
    !> and every buffer and kernel it owns.
    subroutine executor_destroy(self, stat, errmsg)
        class(gpuasync_executor), intent(inout) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: status

        if (.not. executor_check(self, 'executor%destroy', stat, errmsg)) return
        status = gpuasync_executor_destroy(self%handle)
        if (status == GPUASYNC_OK) self%handle = c_gpuasync_executor()
        call report(status, 'executor%destroy', stat, errmsg)
    end subroutine executor_destroy

    !> Whether this variable holds an executor (created, not destroyed through it).
    pure logical function executor_is_created(self)
        class(gpuasync_executor), intent(in) :: self

        executor_is_created = self%handle%id /= 0
    end function executor_is_created

    !> Report an uncreated executor; true when the handle is set.
    logical function executor_check(self, procedure_name, stat, errmsg) result(ok)
        class(gpuasync_executor), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        ok = self%handle%id /= 0
        if (.not. ok) call report(GPUASYNC_INVALID_HANDLE, procedure_name, stat, errmsg, &
            'the executor is not created (or was destroyed)')
    end function executor_check

    !> Whether `ticket` is complete; never blocks. When it is, the reads it
    !> carries have landed in their arrays. `.false.` also on an error reported
    !> through `stat`.
    logical function executor_poll(self, ticket, stat, errmsg) result(done)
        class(gpuasync_executor), intent(in) :: self
        integer(int64), intent(in) :: ticket
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: status

        done = .false.
        if (.not. executor_check(self, 'executor%poll', stat, errmsg)) return
        status = gpuasync_ticket_poll(self%handle, ticket)
        done = status == GPUASYNC_OK
        if (status == GPUASYNC_NOT_READY) status = GPUASYNC_OK
        call report(status, 'executor%poll', stat, errmsg)
    end function executor_poll

    !> Block until `ticket` completes (its reads have then landed). With
    !> `timeout` (seconds), give up after that long: `completed` says which
    !> happened; without `completed`, running out of time is reported as
    !> `GPUASYNC_TIMEOUT`. A timeout changes nothing.
    subroutine executor_wait(self, ticket, timeout, completed, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer(int64), intent(in) :: ticket
        real(real64), intent(in), optional :: timeout
        logical, intent(out), optional :: completed
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: timeout_ns
        integer :: status

        if (present(completed)) completed = .false.
        if (.not. executor_check(self, 'executor%wait', stat, errmsg)) return
        timeout_ns = GPUASYNC_NO_TIMEOUT_NS
        if (present(timeout)) then
            if (.not. (timeout >= 0)) then
                call report(GPUASYNC_INVALID_ARGUMENT, 'executor%wait', stat, errmsg, &
                    'timeout must be a number of seconds >= 0')
                return
            end if
            if (timeout < 9.0e9_real64) timeout_ns = int(timeout * 1.0e9_real64, c_int64_t)
        end if
        status = gpuasync_ticket_wait(self%handle, ticket, timeout_ns)
        if (present(completed)) then
            completed = status == GPUASYNC_OK
            if (status == GPUASYNC_TIMEOUT) status = GPUASYNC_OK
        end if
        call report(status, 'executor%wait', stat, errmsg)
    end subroutine executor_wait

    !> Block until all work submitted so far completes.
    subroutine executor_wait_idle(self, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%wait_idle', stat, errmsg)) return
        call report(int(gpuasync_executor_wait_idle(self%handle)), 'executor%wait_idle', stat, errmsg)
    end subroutine executor_wait_idle

    !> GPU timestamps (and host times) of a complete ticket that was submitted
    !> with `timestamps=.true.`; GPU time is `timing%gpu_end_ns - timing%gpu_begin_ns`.
    subroutine executor_timing(self, ticket, timing, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer(int64), intent(in) :: ticket
        type(c_gpuasync_timing), intent(out) :: timing
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%timing', stat, errmsg)) return
        call report(int(gpuasync_ticket_timing(self%handle, ticket, timing)), 'executor%timing', stat, errmsg)
    end subroutine executor_timing

    !> GPU span of op `op` (1-based, as the ops were given; a built-in op counts
    !> as one) of a complete ticket submitted with GPUASYNC_SUBMIT_OP_TIMESTAMPS:
    !> `gpu_begin_ns` when the work before it was done, `gpu_end_ns` when it was.
    subroutine executor_op_timing(self, ticket, op, timing, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer(int64), intent(in) :: ticket
        integer, intent(in) :: op
        type(c_gpuasync_timing), intent(out) :: timing
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%op_timing', stat, errmsg)) return
        if (op < 1) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'executor%op_timing', stat, errmsg, detail='op must be 1 or more')
            return
        end if
        call report(int(gpuasync_ticket_op_timing(self%handle, ticket, int(op - 1, c_int32_t), timing)), &
            'executor%op_timing', stat, errmsg)
    end subroutine executor_op_timing

    !> Start recording a trace (Chrome/Perfetto JSON) into the file `path`, or
    !> stop and write it when `path` is absent.
    subroutine executor_trace(self, path, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=*), intent(in), optional :: path
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        character(kind=c_char, len=:), allocatable, target :: c_path

        if (.not. executor_check(self, 'executor%trace', stat, errmsg)) return
        if (present(path)) then
            c_path = trim(path) // c_null_char
            call report(int(gpuasync_executor_trace(self%handle, c_loc(c_path))), 'executor%trace', stat, errmsg)
        else
            call report(int(gpuasync_executor_trace(self%handle, c_null_ptr)), 'executor%trace', stat, errmsg)
        end if
    end subroutine executor_trace

    !> Behind the `register` specifics.
    subroutine executor_register_address(self, address, nbytes, contiguous, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        type(c_ptr), intent(in) :: address
        integer(int64), intent(in) :: nbytes
        logical, intent(in) :: contiguous
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%register', stat, errmsg)) return
        if (.not. contiguous) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'executor%register', stat, errmsg, &
                'the array is not contiguous')
            return
        end if
        if (nbytes == 0) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'executor%register', stat, errmsg, 'the array is empty')
            return
        end if
        call report(int(gpuasync_host_register(self%handle, address, int(nbytes, c_size_t))), &
            'executor%register', stat, errmsg)
    end subroutine executor_register_address

    !> The alignment in bytes that `register` needs of an array's address and
    !> size on this executor's device (allocate with `posix_memalign`).
    subroutine executor_host_alignment(self, alignment, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer(c_size_t), intent(out) :: alignment
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        alignment = 0
        if (.not. executor_check(self, 'executor%host_alignment', stat, errmsg)) return
        call report(int(gpuasync_host_alignment(self%handle, alignment)), 'executor%host_alignment', stat, errmsg)
    end subroutine executor_host_alignment

    !> Behind the `unregister` specifics.
    subroutine executor_unregister_address(self, address, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        type(c_ptr), intent(in) :: address
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%unregister', stat, errmsg)) return
        call report(int(gpuasync_host_unregister(self%handle, address)), 'executor%unregister', stat, errmsg)
    end subroutine executor_unregister_address

    !> Counters of what the executor has done: submissions, command buffers
    !> handed to the GPU, completed tickets, bytes written and read, timed GPU time.
    subroutine executor_stats(self, stats, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        type(c_gpuasync_stats), intent(out) :: stats
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%stats', stat, errmsg)) return
        call report(int(gpuasync_executor_stats(self%handle, stats)), 'executor%stats', stat, errmsg)
    end subroutine executor_stats

    !> Whether the validation layer is really on, and how many warnings and
    !> errors it has reported so far.
    subroutine executor_validation(self, enabled, messages, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        logical, intent(out) :: enabled
        integer(int64), intent(out) :: messages
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int32_t) :: c_enabled
        integer :: status

        enabled = .false.
        messages = 0
        if (.not. executor_check(self, 'executor%validation', stat, errmsg)) return
        status = gpuasync_executor_validation(self%handle, c_enabled, messages)
        if (status == GPUASYNC_OK) enabled = c_enabled == 1
        call report(status, 'executor%validation', stat, errmsg)
    end subroutine executor_validation

    !> The executor's device, as the C struct (name, type, memory, ...).
    subroutine executor_device_info(self, info, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        type(c_gpuasync_device_info), intent(out) :: info
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (.not. executor_check(self, 'executor%device_info', stat, errmsg)) return
        call report(int(gpuasync_executor_device_info(self%handle, info)), 'executor%device_info', stat, errmsg)
    end subroutine executor_device_info

    !> The executor's device name ('' on an error reported through `stat`).
    function executor_device_name(self, stat, errmsg) result(name)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        character(len=:), allocatable :: name
        type(c_gpuasync_device_info) :: info
        integer :: local_stat, n
        character(len=1024) :: message

        name = ''
        call self%device_info(info, local_stat, message)
        call pass_on(local_stat, trim(message), stat, errmsg)
        if (local_stat /= GPUASYNC_OK) return
        n = 0
        do while (n < size(info%name))
            if (info%name(n + 1) == c_null_char) exit
            n = n + 1
            name = name // info%name(n)
        end do
    end function executor_device_name

    ! ---- built-in kernels -------------------------------------------------------------
    ! Each procedure makes one C `gpuasync_builtin` and submits it on its own
    ! (`gpuasync_builtin_submit`): asynchronous, ordered after earlier work on
    ! its buffers, `ticket` completes when it has run. Sizes, leading dimensions
    ! and element offsets (`x_offset`: elements before the first one used,
    ! default 0) are default integers, as in BLAS.

    !> `value`, or 0 when absent.
    pure integer function or_zero(value)
        integer, intent(in), optional :: value

        or_zero = 0
        if (present(value)) or_zero = value
    end function or_zero

    !> `GPUASYNC_F32` or `GPUASYNC_F64` for an optional `kind=` (`real32`, the
    !> default, or `real64`); 0 for any other kind.
    pure integer function element_type(kind)
        integer, intent(in), optional :: kind

        element_type = GPUASYNC_F32
        if (.not. present(kind)) return
        select case (kind)
        case (real32)
            element_type = GPUASYNC_F32
        case (real64)
            element_type = GPUASYNC_F64
        case default
            element_type = 0
        end select
    end function element_type

    !> The C operand of `buffer` from element `offset` (absent: 0), with
    !> leading dimension `ld` (absent: 0, unused).
    pure function builtin_operand(buffer, offset, ld) result(operand)
        type(gpuasync_buffer), intent(in) :: buffer
        integer, intent(in), optional :: offset, ld
        type(c_gpuasync_operand) :: operand

        operand%buffer = buffer%handle
        operand%offset = or_zero(offset)
        operand%ld = or_zero(ld)
    end function builtin_operand

    !> A level-1 op: `n` elements of `a`, `b` (inputs) and `c` (output, or
    !> the result of a reduction), each from its element offset.
    pure function level1_op(kind, dtype, n, alpha, a, a_offset, b, b_offset, c, c_offset) result(op)
        integer, intent(in) :: kind, dtype, n
        real(real64), intent(in) :: alpha
        type(gpuasync_buffer), intent(in) :: a, b, c
        integer, intent(in), optional :: a_offset, b_offset, c_offset
        type(c_gpuasync_builtin) :: op

        op%kind = kind
        op%type = dtype
        op%n = n
        op%alpha = alpha
        op%a = builtin_operand(a, a_offset)
        op%b = builtin_operand(b, b_offset)
        op%c = builtin_operand(c, c_offset)
    end function level1_op

    !> Submit a built-in op made by the procedures below, after the checks
    !> this side can make: a created executor, a known element type, buffers
    !> of this executor, no negative size, leading dimension or offset
    !> (`counts`). The C library checks the rest (ranges, overlaps, ...).
    subroutine executor_submit_builtin(self, procedure_name, op, buffers, counts, ticket, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        type(c_gpuasync_builtin), intent(in) :: op
        type(gpuasync_buffer), intent(in) :: buffers(:)
        integer, intent(in) :: counts(:)
        integer(int64), intent(out), optional :: ticket
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: c_ticket
        integer :: i, status

        if (present(ticket)) ticket = 0
        if (.not. executor_check(self, procedure_name, stat, errmsg)) return
        if (op%type == 0) then
            call report(GPUASYNC_INVALID_ARGUMENT, procedure_name, stat, errmsg, &
                'kind must be real32 or real64 (from iso_fortran_env)')
            return
        end if
        do i = 1, size(buffers)
            if (buffers(i)%handle%id /= 0 .and. buffers(i)%executor%id /= self%handle%id) then
                call report(GPUASYNC_INVALID_HANDLE, procedure_name, stat, errmsg, &
                    'a buffer belongs to another executor')
                return
            end if
        end do
        if (any(counts < 0)) then
            call report(GPUASYNC_INVALID_ARGUMENT, procedure_name, stat, errmsg, &
                'sizes, leading dimensions and offsets must be >= 0')
            return
        end if
        status = gpuasync_builtin_submit(self%handle, op, submit_flags(timestamps), c_ticket)
        if (status == GPUASYNC_OK .and. present(ticket)) ticket = c_ticket
        call report(status, procedure_name, stat, errmsg)
    end subroutine executor_submit_builtin

    !> `x(i) = value` for the `n` elements of `x` from element `x_offset`; the
    !> kind of `value` is the element type.
    subroutine executor_fill_r32(self, n, value, x, ticket, x_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        real(real32), intent(in) :: value
        type(gpuasync_buffer), intent(in) :: x
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: x_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%fill', level1_op(GPUASYNC_BUILTIN_FILL, GPUASYNC_F32, n, &
            real(value, real64), x, x_offset, x, x_offset, x, x_offset), [x], [n, or_zero(x_offset)], &
            ticket, timestamps, stat, errmsg)
    end subroutine executor_fill_r32

    !> `fill` of `real64` elements.
    subroutine executor_fill_r64(self, n, value, x, ticket, x_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        real(real64), intent(in) :: value
        type(gpuasync_buffer), intent(in) :: x
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: x_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%fill', level1_op(GPUASYNC_BUILTIN_FILL, GPUASYNC_F64, n, &
            value, x, x_offset, x, x_offset, x, x_offset), [x], [n, or_zero(x_offset)], &
            ticket, timestamps, stat, errmsg)
    end subroutine executor_fill_r64

    !> `y(i) = x(i)` for `n` elements of `kind` (`real32`, the default, or
    !> `real64`).
    subroutine executor_copy(self, n, x, y, ticket, kind, x_offset, y_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, y
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, y_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%copy', level1_op(GPUASYNC_BUILTIN_COPY, element_type(kind), n, &
            0.0_real64, x, x_offset, x, x_offset, y, y_offset), [x, y], [n, or_zero(x_offset), or_zero(y_offset)], &
            ticket, timestamps, stat, errmsg)
    end subroutine executor_copy

    !> `x(i) = alpha * x(i)`, in place, for `n` elements; the kind of `alpha`
    !> is the element type.
    subroutine executor_scale_r32(self, n, alpha, x, ticket, x_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        real(real32), intent(in) :: alpha
        type(gpuasync_buffer), intent(in) :: x
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: x_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%scale', level1_op(GPUASYNC_BUILTIN_SCALE, GPUASYNC_F32, n, &
            real(alpha, real64), x, x_offset, x, x_offset, x, x_offset), [x], [n, or_zero(x_offset)], &
            ticket, timestamps, stat, errmsg)
    end subroutine executor_scale_r32

    !> `scale` of `real64` elements.
    subroutine executor_scale_r64(self, n, alpha, x, ticket, x_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        real(real64), intent(in) :: alpha
        type(gpuasync_buffer), intent(in) :: x
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: x_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%scale', level1_op(GPUASYNC_BUILTIN_SCALE, GPUASYNC_F64, n, &
            alpha, x, x_offset, x, x_offset, x, x_offset), [x], [n, or_zero(x_offset)], &
            ticket, timestamps, stat, errmsg)
    end subroutine executor_scale_r64

    !> `y(i) = alpha * x(i) + y(i)` for `n` elements; the kind of `alpha` is
    !> the element type.
    subroutine executor_axpy_r32(self, n, alpha, x, y, ticket, x_offset, y_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        real(real32), intent(in) :: alpha
        type(gpuasync_buffer), intent(in) :: x, y
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: x_offset, y_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%axpy', level1_op(GPUASYNC_BUILTIN_AXPY, GPUASYNC_F32, n, &
            real(alpha, real64), x, x_offset, y, y_offset, y, y_offset), [x, y], &
            [n, or_zero(x_offset), or_zero(y_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_axpy_r32

    !> `axpy` of `real64` elements.
    subroutine executor_axpy_r64(self, n, alpha, x, y, ticket, x_offset, y_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        real(real64), intent(in) :: alpha
        type(gpuasync_buffer), intent(in) :: x, y
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: x_offset, y_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%axpy', level1_op(GPUASYNC_BUILTIN_AXPY, GPUASYNC_F64, n, &
            alpha, x, x_offset, y, y_offset, y, y_offset), [x, y], &
            [n, or_zero(x_offset), or_zero(y_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_axpy_r64

    !> `z(i) = x(i) + y(i)` for `n` elements of `kind` (`real32`, the
    !> default, or `real64`).
    subroutine executor_add(self, n, x, y, z, ticket, kind, x_offset, y_offset, z_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, y, z
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, y_offset, z_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%add', level1_op(GPUASYNC_BUILTIN_ADD, element_type(kind), n, &
            0.0_real64, x, x_offset, y, y_offset, z, z_offset), [x, y, z], &
            [n, or_zero(x_offset), or_zero(y_offset), or_zero(z_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_add

    !> `z(i) = x(i) * y(i)` for `n` elements of `kind` (`real32`, the
    !> default, or `real64`).
    subroutine executor_mul(self, n, x, y, z, ticket, kind, x_offset, y_offset, z_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, y, z
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, y_offset, z_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%mul', level1_op(GPUASYNC_BUILTIN_MUL, element_type(kind), n, &
            0.0_real64, x, x_offset, y, y_offset, z, z_offset), [x, y, z], &
            [n, or_zero(x_offset), or_zero(y_offset), or_zero(z_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_mul

    !> One-input reductions: `op` of the `n` elements of `x` into element
    !> `result_offset` of `result`.
    subroutine executor_reduce1(self, procedure_name, op, n, x, result, ticket, kind, x_offset, result_offset, &
            timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        integer, intent(in) :: op, n
        type(gpuasync_buffer), intent(in) :: x, result
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, result_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, procedure_name, level1_op(op, element_type(kind), n, 0.0_real64, &
            x, x_offset, x, x_offset, result, result_offset), [x, result], &
            [n, or_zero(x_offset), or_zero(result_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_reduce1

    !> The sum of the `n` elements of `x` (of `kind`: `real32`, the default,
    !> or `real64`), compensated (Sum2), into element `result_offset` (default
    !> 0) of the buffer `result`.
    subroutine executor_sum(self, n, x, result, ticket, kind, x_offset, result_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, result
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, result_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_reduce1(self, 'executor%sum', GPUASYNC_BUILTIN_SUM, n, x, result, ticket, kind, x_offset, &
            result_offset, timestamps, stat, errmsg)
    end subroutine executor_sum

    !> The Euclidean norm of the `n` elements of `x` (Blue's algorithm: no
    !> overflow or harmful underflow) into element `result_offset` of `result`.
    subroutine executor_nrm2(self, n, x, result, ticket, kind, x_offset, result_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, result
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, result_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_reduce1(self, 'executor%nrm2', GPUASYNC_BUILTIN_NRM2, n, x, result, ticket, kind, x_offset, &
            result_offset, timestamps, stat, errmsg)
    end subroutine executor_nrm2

    !> The largest magnitude `maxval(abs(x))` of the `n` elements of `x` (NaN
    !> if any is NaN) into element `result_offset` of `result`.
    subroutine executor_amax(self, n, x, result, ticket, kind, x_offset, result_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, result
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, result_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_reduce1(self, 'executor%amax', GPUASYNC_BUILTIN_AMAX, n, x, result, ticket, kind, x_offset, &
            result_offset, timestamps, stat, errmsg)
    end subroutine executor_amax

    !> The dot product of the `n` elements of `x` and `y`, compensated (Dot2),
    !> into element `result_offset` of `result`.
    subroutine executor_dot(self, n, x, y, result, ticket, kind, x_offset, y_offset, result_offset, timestamps, &
            stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, y, result
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: kind, x_offset, y_offset, result_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_submit_builtin(self, 'executor%dot', level1_op(GPUASYNC_BUILTIN_DOT, element_type(kind), n, &
            0.0_real64, x, x_offset, y, y_offset, result, result_offset), [x, y, result], &
            [n, or_zero(x_offset), or_zero(y_offset), or_zero(result_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_dot

    !> 0 for 'N' (as stored), 1 for 'T' or 'C' (transposed; the same for real
    !> matrices), either case; -1 for anything else.
    pure integer function transpose_flag(trans)
        character(len=1), intent(in) :: trans

        select case (trans)
        case ('N', 'n')
            transpose_flag = 0
        case ('T', 't', 'C', 'c')
            transpose_flag = 1
        case default
            transpose_flag = -1
        end select
    end function transpose_flag

    !> Behind the `gemm` specifics: `alpha` and `beta` already in `real64`,
    !> `dtype` the element type (`GPUASYNC_F32` or `GPUASYNC_F64`).
    subroutine executor_gemm_any(self, transa, transb, m, n, k, dtype, alpha, a, lda, b, ldb, beta, c, ldc, &
            ticket, a_offset, b_offset, c_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=1), intent(in) :: transa, transb
        integer, intent(in) :: m, n, k, dtype, lda, ldb, ldc
        real(real64), intent(in) :: alpha, beta
        type(gpuasync_buffer), intent(in) :: a, b, c
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: a_offset, b_offset, c_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_builtin) :: op

        if (present(ticket)) ticket = 0
        if (transpose_flag(transa) < 0 .or. transpose_flag(transb) < 0) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'executor%gemm', stat, errmsg, &
                'transa and transb must be ''N'' (as stored), ''T'' or ''C'' (transposed), in either case; got ''' &
                // transa // ''' and ''' // transb // '''')
            return
        end if
        op%kind = GPUASYNC_BUILTIN_GEMM
        op%type = dtype
        op%trans_a = transpose_flag(transa)
        op%trans_b = transpose_flag(transb)
        op%m = m
        op%n = n
        op%k = k
        op%alpha = alpha
        op%beta = beta
        op%a = builtin_operand(a, a_offset, lda)
        op%b = builtin_operand(b, b_offset, ldb)
        op%c = builtin_operand(c, c_offset, ldc)
        call executor_submit_builtin(self, 'executor%gemm', op, [a, b, c], &
            [m, n, k, lda, ldb, ldc, or_zero(a_offset), or_zero(b_offset), or_zero(c_offset)], &
            ticket, timestamps, stat, errmsg)
    end subroutine executor_gemm_any

    !> `C = alpha * op(A) * op(B) + beta * C` with the arguments of BLAS
    !> `sgemm` (column-major; `transa`, `transb`: 'N', 'T' or 'C'; C is m x n,
    !> op(A) m x k, op(B) k x n; `lda`, `ldb`, `ldc` the leading dimensions),
    !> the matrices being buffers (from element `a_offset`, ...). beta = 0
    !> never reads C. The kind of `alpha` and `beta` is the element type.
    subroutine executor_gemm_r32(self, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ticket, &
            a_offset, b_offset, c_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=1), intent(in) :: transa, transb
        integer, intent(in) :: m, n, k, lda, ldb, ldc
        real(real32), intent(in) :: alpha, beta
        type(gpuasync_buffer), intent(in) :: a, b, c
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: a_offset, b_offset, c_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_gemm_any(self, transa, transb, m, n, k, GPUASYNC_F32, real(alpha, real64), a, lda, b, ldb, &
            real(beta, real64), c, ldc, ticket, a_offset, b_offset, c_offset, timestamps, stat, errmsg)
    end subroutine executor_gemm_r32

    !> `gemm` of `real64` elements (BLAS `dgemm`).
    subroutine executor_gemm_r64(self, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ticket, &
            a_offset, b_offset, c_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=1), intent(in) :: transa, transb
        integer, intent(in) :: m, n, k, lda, ldb, ldc
        real(real64), intent(in) :: alpha, beta
        type(gpuasync_buffer), intent(in) :: a, b, c
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: a_offset, b_offset, c_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_gemm_any(self, transa, transb, m, n, k, GPUASYNC_F64, alpha, a, lda, b, ldb, &
            beta, c, ldc, ticket, a_offset, b_offset, c_offset, timestamps, stat, errmsg)
    end subroutine executor_gemm_r64

    !> `y(i) = x(i)` for `n` elements: `x` of `real32`, `y` of 16-bit floats
    !> (`type`: `GPUASYNC_F16`, the default, or `GPUASYNC_BF16`), rounded to
    !> nearest with ties to even (overflow gives infinity, NaN stays NaN). A
    !> buffer of 16-bit values holds two per 4 bytes: create it with a size in
    !> bytes (2 n, rounded up to a multiple of 4).
    subroutine executor_convert(self, n, x, y, ticket, type, x_offset, y_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, y
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: type, x_offset, y_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_16bit(self, 'executor%convert', GPUASYNC_BUILTIN_CONVERT, n, x, y, ticket, type, x_offset, &
            y_offset, timestamps, stat, errmsg)
    end subroutine executor_convert

    !> `y(i) = x(i)` for `n` elements: `x` of 16-bit floats (`type`:
    !> `GPUASYNC_F16`, the default, or `GPUASYNC_BF16`), `y` of `real32`,
    !> exactly (the inverse of `convert` on every value it produces).
    subroutine executor_widen(self, n, x, y, ticket, type, x_offset, y_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: n
        type(gpuasync_buffer), intent(in) :: x, y
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: type, x_offset, y_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call executor_16bit(self, 'executor%widen', GPUASYNC_BUILTIN_WIDEN, n, x, y, ticket, type, x_offset, &
            y_offset, timestamps, stat, errmsg)
    end subroutine executor_widen

    !> Behind `convert` and `widen`: the op `kind` between `real32` and the
    !> 16-bit `type` (default `GPUASYNC_F16`).
    subroutine executor_16bit(self, procedure_name, kind, n, x, y, ticket, type, x_offset, y_offset, timestamps, &
            stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        integer, intent(in) :: kind, n
        type(gpuasync_buffer), intent(in) :: x, y
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: type, x_offset, y_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: dtype

        dtype = GPUASYNC_F16
        if (present(type)) dtype = type
        call executor_submit_builtin(self, procedure_name, level1_op(kind, dtype, n, 0.0_real64, x, x_offset, x, &
            x_offset, y, y_offset), [x, y], [n, or_zero(x_offset), or_zero(y_offset)], ticket, timestamps, stat, errmsg)
    end subroutine executor_16bit

    !> `gemm` with A and B of 16-bit floats (`type`: `GPUASYNC_F16`, the
    !> default, or `GPUASYNC_BF16`; make them with `convert`) and C of
    !> `real32`, accumulated in `real32` on the device's cooperative matrices.
    !> `GPUASYNC_UNSUPPORTED` where `cooperative_matrix(type)` is false.
    subroutine executor_gemm16(self, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ticket, &
            type, a_offset, b_offset, c_offset, timestamps, stat, errmsg)
        class(gpuasync_executor), intent(in) :: self
        character(len=1), intent(in) :: transa, transb
        integer, intent(in) :: m, n, k, lda, ldb, ldc
        real(real32), intent(in) :: alpha, beta
        type(gpuasync_buffer), intent(in) :: a, b, c
        integer(int64), intent(out), optional :: ticket
        integer, intent(in), optional :: type, a_offset, b_offset, c_offset
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: dtype

        dtype = GPUASYNC_F16
        if (present(type)) dtype = type
        call executor_gemm_any(self, transa, transb, m, n, k, dtype, real(alpha, real64), a, lda, b, ldb, &
            real(beta, real64), c, ldc, ticket, a_offset, b_offset, c_offset, timestamps, stat, errmsg)
    end subroutine executor_gemm16

    !> Whether `gemm16` runs on this executor with `type` inputs
    !> (`GPUASYNC_F16` or `GPUASYNC_BF16`); false for other types, and for
    !> an executor not created.
    logical function executor_cooperative_matrix(self, type) result(yes)
        class(gpuasync_executor), intent(in) :: self
        integer, intent(in) :: type
        integer(c_int32_t) :: supported

        yes = .false.
        if (.not. executor_is_created(self)) return
        supported = 0
        if (gpuasync_executor_cooperative_matrix(self%handle, int(type, c_int32_t), supported) /= GPUASYNC_OK) return
        yes = supported /= 0
    end function executor_cooperative_matrix

    ! ---- buffer --------------------------------------------------------------------

    !> Create a buffer of `size_bytes` bytes of `kind` (`GPUASYNC_BUFFER_*`,
    !> default device-local) owned by `executor`.
    subroutine buffer_create_bytes_i64(self, executor, size_bytes, kind, stat, errmsg)
        class(gpuasync_buffer), intent(inout) :: self
        type(gpuasync_executor), intent(in) :: executor
        integer(int64), intent(in) :: size_bytes
        integer, intent(in), optional :: kind
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_buffer) :: handle
        integer(c_int32_t) :: c_kind
        integer :: status

        if (buffer_is_live(self)) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'buffer%create', stat, errmsg, &
                'this buffer variable already holds a live buffer; destroy it first')
            return
        end if
        if (.not. executor_check(executor, 'buffer%create', stat, errmsg)) return
        c_kind = GPUASYNC_BUFFER_DEVICE_LOCAL
        if (present(kind)) c_kind = int(kind, c_int32_t)
        status = gpuasync_buffer_create(executor%handle, size_bytes, c_kind, handle)
        if (status == GPUASYNC_OK) then
            self%executor = executor%handle
            self%handle = handle
        end if
        call report(status, 'buffer%create', stat, errmsg)
    end subroutine buffer_create_bytes_i64

    !> `create` with a default-integer size in bytes.
    subroutine buffer_create_bytes_i32(self, executor, size_bytes, kind, stat, errmsg)
        class(gpuasync_buffer), intent(inout) :: self
        type(gpuasync_executor), intent(in) :: executor
        integer(int32), intent(in) :: size_bytes
        integer, intent(in), optional :: kind
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        call buffer_create_bytes_i64(self, executor, int(size_bytes, int64), kind, stat, errmsg)
    end subroutine buffer_create_bytes_i32

    !> Behind the array `create` specifics: size from the array, then upload.
    subroutine buffer_create_array(self, executor, address, nbytes, contiguous, kind, upload, ticket, stat, errmsg)
        class(gpuasync_buffer), intent(inout) :: self
        type(gpuasync_executor), intent(in) :: executor
        type(c_ptr), intent(in) :: address
        integer(int64), intent(in) :: nbytes
        logical, intent(in) :: contiguous
        integer, intent(in), optional :: kind
        logical, intent(in), optional :: upload
        integer(int64), intent(out), optional :: ticket
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: local_stat
        character(len=1024) :: message
        logical :: do_upload

        if (present(ticket)) ticket = 0
        if (.not. contiguous) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'buffer%create', stat, errmsg, &
                'the array is not contiguous (gpuasync never copies it behind your back)')
            return
        end if
        call buffer_create_bytes_i64(self, executor, nbytes, kind, local_stat, message)
        if (local_stat /= GPUASYNC_OK) then
            call pass_on(local_stat, trim(message), stat, errmsg)
            return
        end if
        do_upload = .true.
        if (present(upload)) do_upload = upload
        if (present(stat)) stat = GPUASYNC_OK
        if (do_upload) call buffer_write_bytes(self, address, nbytes, .true., ticket, stat=stat, errmsg=errmsg)
    end subroutine buffer_create_array

    !> Hand on a failure already reported into a local `stat` and `message`:
    !> to the caller's `stat` and `errmsg`, or stop with it when `stat` is absent.
    subroutine pass_on(status, message, stat, errmsg)
        integer, intent(in) :: status
        character(len=*), intent(in) :: message
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        if (present(stat)) stat = status
        if (status == GPUASYNC_OK) return
        if (present(errmsg)) errmsg = message
        if (.not. present(stat)) error stop message
    end subroutine pass_on

    !> Report an uncreated buffer; true when the handle is set.
    logical function buffer_check(self, procedure_name, stat, errmsg) result(ok)
        class(gpuasync_buffer), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        ok = self%handle%id /= 0
        if (.not. ok) call report(GPUASYNC_INVALID_HANDLE, procedure_name, stat, errmsg, &
            'the buffer is not created (or was destroyed)')
    end function buffer_check

    !> Behind the `write` specifics.
    subroutine buffer_write_bytes(self, address, nbytes, contiguous, ticket, offset_bytes, timestamps, stat, errmsg)
        class(gpuasync_buffer), intent(in) :: self
        type(c_ptr), intent(in) :: address
        integer(int64), intent(in) :: nbytes
        logical, intent(in) :: contiguous
        integer(int64), intent(out), optional :: ticket
        integer(int64), intent(in), optional :: offset_bytes
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: offset, c_ticket
        integer :: status

        if (present(ticket)) ticket = 0
        if (.not. buffer_check(self, 'buffer%write', stat, errmsg)) return
        if (.not. contiguous) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'buffer%write', stat, errmsg, &
                'the source array is not contiguous (gpuasync never copies it behind your back)')
            return
        end if
        offset = 0
        if (present(offset_bytes)) offset = offset_bytes
        status = gpuasync_buffer_write(self%executor, self%handle, offset, address, int(nbytes, c_size_t), &
            submit_flags(timestamps), c_ticket)
        if (status == GPUASYNC_OK .and. present(ticket)) ticket = c_ticket
        call report(status, 'buffer%write', stat, errmsg)
    end subroutine buffer_write_bytes

    !> Behind the `read` specifics.
    subroutine buffer_read_bytes(self, address, nbytes, contiguous, ticket, offset_bytes, timestamps, stat, errmsg)
        class(gpuasync_buffer), intent(in) :: self
        type(c_ptr), intent(in) :: address
        integer(int64), intent(in) :: nbytes
        logical, intent(in) :: contiguous
        integer(int64), intent(out) :: ticket
        integer(int64), intent(in), optional :: offset_bytes
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: offset, c_ticket
        integer :: status

        ticket = 0
        if (.not. buffer_check(self, 'buffer%read', stat, errmsg)) return
        if (.not. contiguous) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'buffer%read', stat, errmsg, &
                'the destination array is not contiguous (gpuasync never copies it behind your back)')
            return
        end if
        offset = 0
        if (present(offset_bytes)) offset = offset_bytes
        status = gpuasync_buffer_read(self%executor, self%handle, offset, address, int(nbytes, c_size_t), &
            submit_flags(timestamps), c_ticket)
        if (status == GPUASYNC_OK) ticket = c_ticket
        call report(status, 'buffer%read', stat, errmsg)
    end subroutine buffer_read_bytes

    !> Behind the `map` specifics: the host address of `nbytes` of a mapped
    !> buffer, or null after an error.
    subroutine buffer_map_address(self, nbytes, address, stat, errmsg)
        class(gpuasync_buffer), intent(in) :: self
        integer(int64), intent(in) :: nbytes
        type(c_ptr), intent(out) :: address
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: buffer_bytes
        type(c_ptr) :: pointer
        integer :: status
        character(len=80) :: sizes

        address = c_null_ptr
        if (.not. buffer_check(self, 'buffer%map', stat, errmsg)) return
        status = gpuasync_buffer_size(self%executor, self%handle, buffer_bytes)
        if (status == GPUASYNC_OK .and. (nbytes < 0 .or. nbytes > buffer_bytes)) then
            write (sizes, '(i0, a, i0, a)') nbytes, ' bytes asked of a buffer of ', buffer_bytes, ' bytes'
            call report(GPUASYNC_OUT_OF_RANGE, 'buffer%map', stat, errmsg, &
                'the view does not fit in the buffer: ' // trim(sizes))
            return
        end if
        if (status == GPUASYNC_OK) status = gpuasync_buffer_map(self%executor, self%handle, pointer)
        if (status == GPUASYNC_OK) address = pointer
        call report(status, 'buffer%map', stat, errmsg)
    end subroutine buffer_map_address

    !> Free the buffer. Work already submitted that uses it still completes;
    !> this variable (not its copies) becomes uncreated.
    subroutine buffer_destroy(self, stat, errmsg)
        class(gpuasync_buffer), intent(inout) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: status

        if (.not. buffer_check(self, 'buffer%destroy', stat, errmsg)) return
        status = gpuasync_buffer_destroy(self%executor, self%handle)
        if (status == GPUASYNC_OK) then
            self%handle = c_gpuasync_buffer()
            self%executor = c_gpuasync_executor()
        end if
        call report(status, 'buffer%destroy', stat, errmsg)
    end subroutine buffer_destroy

    !> Whether this variable holds a buffer (created, not destroyed through it).
    pure logical function buffer_is_created(self)
        class(gpuasync_buffer), intent(in) :: self

        buffer_is_created = self%handle%id /= 0
    end function buffer_is_created

    !> The buffer's size in bytes; -1 on an error reported through `stat`.
    function buffer_size_bytes(self, stat, errmsg) result(size_bytes)
        class(gpuasync_buffer), intent(in) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(int64) :: size_bytes
        integer(c_int64_t) :: bytes
        integer :: status

        size_bytes = -1
        if (.not. buffer_check(self, 'buffer%size_bytes', stat, errmsg)) return
        status = gpuasync_buffer_size(self%executor, self%handle, bytes)
        if (status == GPUASYNC_OK) size_bytes = bytes
        call report(status, 'buffer%size_bytes', stat, errmsg)
    end function buffer_size_bytes

    !> Fill `size_bytes` bytes (default: the whole buffer) at `offset_bytes`
    !> with the 32-bit pattern `value`, asynchronously; multiples of 4.
    subroutine buffer_fill(self, value, ticket, offset_bytes, size_bytes, timestamps, stat, errmsg)
        class(gpuasync_buffer), intent(in) :: self
        integer(int32), intent(in) :: value
        integer(int64), intent(out), optional :: ticket
        integer(int64), intent(in), optional :: offset_bytes, size_bytes
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: offset, bytes, c_ticket
        integer :: status

        if (present(ticket)) ticket = 0
        if (.not. buffer_check(self, 'buffer%fill', stat, errmsg)) return
        offset = 0
        bytes = GPUASYNC_WHOLE_SIZE
        if (present(offset_bytes)) offset = offset_bytes
        if (present(size_bytes)) bytes = size_bytes
        status = gpuasync_buffer_fill(self%executor, self%handle, offset, bytes, value, submit_flags(timestamps), &
            c_ticket)
        if (status == GPUASYNC_OK .and. present(ticket)) ticket = c_ticket
        call report(status, 'buffer%fill', stat, errmsg)
    end subroutine buffer_fill

    !> Copy `size_bytes` bytes of `source` (at `source_offset_bytes`) into this
    !> buffer (at `offset_bytes`), asynchronously, on the GPU.
    subroutine buffer_copy_from(self, source, size_bytes, ticket, offset_bytes, source_offset_bytes, timestamps, &
            stat, errmsg)
        class(gpuasync_buffer), intent(in) :: self
        type(gpuasync_buffer), intent(in) :: source
        integer(int64), intent(in) :: size_bytes
        integer(int64), intent(out), optional :: ticket
        integer(int64), intent(in), optional :: offset_bytes, source_offset_bytes
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer(c_int64_t) :: offset, source_offset, c_ticket
        integer :: status

        if (present(ticket)) ticket = 0
        if (.not. buffer_check(self, 'buffer%copy_from', stat, errmsg)) return
        if (.not. buffer_check(source, 'buffer%copy_from', stat, errmsg)) return
        offset = 0
        source_offset = 0
        if (present(offset_bytes)) offset = offset_bytes
        if (present(source_offset_bytes)) source_offset = source_offset_bytes
        status = gpuasync_buffer_copy(self%executor, source%handle, source_offset, self%handle, offset, size_bytes, &
            submit_flags(timestamps), c_ticket)
        if (status == GPUASYNC_OK .and. present(ticket)) ticket = c_ticket
        call report(status, 'buffer%copy_from', stat, errmsg)
    end subroutine buffer_copy_from

    ! ---- kernel -------------------------------------------------------------------

    !> Specialization constants from the optional `spec_ids`/`spec_values`.
    subroutine spec_constants(spec_ids, spec_values, spec, ok, stat, errmsg)
        integer, intent(in), optional :: spec_ids(:)
        integer(int32), intent(in), optional :: spec_values(:)
        type(c_gpuasync_spec_constant), allocatable, intent(out) :: spec(:)
        logical, intent(out) :: ok
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: i

        ok = present(spec_ids) .eqv. present(spec_values)
        if (ok .and. present(spec_ids)) ok = size(spec_ids) == size(spec_values)
        if (.not. ok) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'kernel%create', stat, errmsg, &
                'spec_ids and spec_values must come together, with the same length')
            return
        end if
        if (present(spec_ids)) then
            allocate (spec(size(spec_ids)))
            do i = 1, size(spec_ids)
                spec(i) = c_gpuasync_spec_constant(int(spec_ids(i), c_int32_t), spec_values(i))
            end do
        else
            allocate (spec(1))
        end if
    end subroutine spec_constants

    !> Create a kernel from a `.spv` file and its entry point (default "main"),
    !> with optional specialization constants (`spec_values` are 32-bit
    !> patterns: `transfer(x, 0_int32)` for a float).
    subroutine kernel_create_from_file(self, executor, path, entry, spec_ids, spec_values, stat, errmsg)
        class(gpuasync_kernel), intent(inout) :: self
        type(gpuasync_executor), intent(in) :: executor
        character(len=*), intent(in) :: path
        character(len=*), intent(in), optional :: entry
        integer, intent(in), optional :: spec_ids(:)
        integer(int32), intent(in), optional :: spec_values(:)
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_spec_constant), allocatable, target :: spec(:)
        character(kind=c_char), allocatable, target :: path_chars(:), entry_chars(:)
        type(c_gpuasync_kernel) :: handle
        logical :: ok
        integer :: status

        if (.not. kernel_can_create(self, executor, stat, errmsg)) return
        call spec_constants(spec_ids, spec_values, spec, ok, stat, errmsg)
        if (.not. ok) return
        call to_c_chars(path, path_chars)
        if (present(entry)) then
            call to_c_chars(entry, entry_chars)
        else
            call to_c_chars('main', entry_chars)
        end if
        status = gpuasync_kernel_create_from_file(executor%handle, c_loc(path_chars), c_loc(entry_chars), &
            c_loc(spec), spec_count(spec_ids), handle)
        if (status == GPUASYNC_OK) then
            self%executor = executor%handle
            self%handle = handle
        end if
        call report(status, 'kernel%create', stat, errmsg)
    end subroutine kernel_create_from_file

    !> Create a kernel from SPIR-V words in memory (see the file form).
    subroutine kernel_create_from_words(self, executor, words, entry, spec_ids, spec_values, stat, errmsg)
        class(gpuasync_kernel), intent(inout) :: self
        type(gpuasync_executor), intent(in) :: executor
        integer(int32), intent(in), target :: words(:)
        character(len=*), intent(in), optional :: entry
        integer, intent(in), optional :: spec_ids(:)
        integer(int32), intent(in), optional :: spec_values(:)
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_spec_constant), allocatable, target :: spec(:)
        character(kind=c_char), allocatable, target :: entry_chars(:)
        type(c_gpuasync_kernel) :: handle
        type(c_ptr) :: address
        logical :: ok
        integer :: status

        if (.not. kernel_can_create(self, executor, stat, errmsg)) return
        if (.not. is_contiguous(words)) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'kernel%create', stat, errmsg, &
                'the SPIR-V words are not contiguous (gpuasync never copies them behind your back)')
            return
        end if
        call spec_constants(spec_ids, spec_values, spec, ok, stat, errmsg)
        if (.not. ok) return
        if (present(entry)) then
            call to_c_chars(entry, entry_chars)
        else
            call to_c_chars('main', entry_chars)
        end if
        address = c_null_ptr
        if (size(words) > 0) address = c_loc(words)
        status = gpuasync_kernel_create(executor%handle, address, int(size(words), c_size_t), c_loc(entry_chars), &
            c_loc(spec), spec_count(spec_ids), handle)
        if (status == GPUASYNC_OK) then
            self%executor = executor%handle
            self%handle = handle
        end if
        call report(status, 'kernel%create', stat, errmsg)
    end subroutine kernel_create_from_words

    !> Number of specialization constants passed.
    pure integer(c_size_t) function spec_count(spec_ids)
        integer, intent(in), optional :: spec_ids(:)

        spec_count = 0
        if (present(spec_ids)) spec_count = int(size(spec_ids), c_size_t)
    end function spec_count

    !> Checks before creating a kernel: a free variable, a live executor.
    logical function kernel_can_create(self, executor, stat, errmsg) result(ok)
        class(gpuasync_kernel), intent(in) :: self
        type(gpuasync_executor), intent(in) :: executor
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        ok = .false.
        if (kernel_is_live(self)) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'kernel%create', stat, errmsg, &
                'this kernel variable already holds a live kernel; destroy it first')
            return
        end if
        ok = executor_check(executor, 'kernel%create', stat, errmsg)
    end function kernel_can_create

    !> Report an uncreated kernel; true when the handle is set.
    logical function kernel_check(self, procedure_name, stat, errmsg) result(ok)
        class(gpuasync_kernel), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        ok = self%handle%id /= 0
        if (.not. ok) call report(GPUASYNC_INVALID_HANDLE, procedure_name, stat, errmsg, &
            'the kernel is not created (or was destroyed)')
    end function kernel_check

    !> Free the kernel. Work already submitted that uses it still completes.
    subroutine kernel_destroy(self, stat, errmsg)
        class(gpuasync_kernel), intent(inout) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: status

        if (.not. kernel_check(self, 'kernel%destroy', stat, errmsg)) return
        status = gpuasync_kernel_destroy(self%executor, self%handle)
        if (status == GPUASYNC_OK) then
            self%handle = c_gpuasync_kernel()
            self%executor = c_gpuasync_executor()
        end if
        call report(status, 'kernel%destroy', stat, errmsg)
    end subroutine kernel_destroy

    !> Whether this variable holds a kernel (created, not destroyed through it).
    pure logical function kernel_is_created(self)
        class(gpuasync_kernel), intent(in) :: self

        kernel_is_created = self%handle%id /= 0
    end function kernel_is_created

    !> The kernel's interface as reflected from its SPIR-V: storage-buffer
    !> bindings, push-constant bytes, workgroup size.
    subroutine kernel_info(self, binding_count, push_constant_bytes, local_size, stat, errmsg)
        class(gpuasync_kernel), intent(in) :: self
        integer, intent(out), optional :: binding_count, push_constant_bytes
        integer, intent(out), optional :: local_size(3)
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_kernel_info) :: info
        integer :: status

        if (.not. kernel_check(self, 'kernel%info', stat, errmsg)) return
        status = gpuasync_kernel_describe(self%executor, self%handle, info)
        if (status == GPUASYNC_OK) then
            if (present(binding_count)) binding_count = int(info%binding_count)
            if (present(push_constant_bytes)) push_constant_bytes = int(info%push_constant_size)
            if (present(local_size)) local_size = int(info%local_size)
        end if
        call report(status, 'kernel%info', stat, errmsg)
    end subroutine kernel_info

    !> Run the kernel over `groups` workgroups (1 to 3 counts; missing ones are
    !> 1), with `buffers(i)` at binding i-1 and the push-constant block `push`
    !> (any interoperable scalar, array or `bind(c)` derived type) of
    !> `push_bytes` bytes (`c_sizeof(push)`), as its own submission. Both must
    !> match the kernel's interface. Returns at once; `ticket` completes when
    !> the kernel has run.
    subroutine kernel_dispatch(self, buffers, groups, push, push_bytes, ticket, timestamps, stat, errmsg)
        class(gpuasync_kernel), intent(in) :: self
        type(gpuasync_buffer), intent(in) :: buffers(:)
        integer, intent(in) :: groups(:)
        type(*), dimension(..), intent(in), target, optional :: push
        integer(c_size_t), intent(in), optional :: push_bytes
        integer(int64), intent(out), optional :: ticket
        logical, intent(in), optional :: timestamps
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_buffer), allocatable, target :: handles(:)
        integer(c_int32_t) :: counts(3)
        type(c_ptr) :: push_address
        integer(c_size_t) :: push_size
        integer(c_int64_t) :: c_ticket
        integer :: i, status

        if (present(ticket)) ticket = 0
        if (.not. kernel_check(self, 'kernel%dispatch', stat, errmsg)) return
        if (size(groups) < 1 .or. size(groups) > 3) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'kernel%dispatch', stat, errmsg, &
                'groups must hold 1 to 3 workgroup counts')
            return
        end if
        if (present(push) .neqv. present(push_bytes)) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'kernel%dispatch', stat, errmsg, &
                'push and push_bytes (c_sizeof(push)) must come together')
            return
        end if
        push_address = c_null_ptr
        push_size = 0
        if (present(push)) then
            if (.not. is_contiguous(push)) then
                call report(GPUASYNC_INVALID_ARGUMENT, 'kernel%dispatch', stat, errmsg, &
                    'the push constants are not contiguous')
                return
            end if
            push_address = c_loc(push)
            push_size = push_bytes
        end if
        counts = 1
        counts(1:size(groups)) = int(groups, c_int32_t)
        allocate (handles(max(1, size(buffers))))
        do i = 1, size(buffers)
            if (buffers(i)%executor%id /= self%executor%id .and. buffers(i)%handle%id /= 0) then
                call report(GPUASYNC_INVALID_HANDLE, 'kernel%dispatch', stat, errmsg, &
                    'a buffer belongs to another executor than the kernel')
                return
            end if
            handles(i) = buffers(i)%handle
        end do
        status = gpuasync_kernel_dispatch(self%executor, self%handle, c_loc(handles), int(size(buffers), c_size_t), &
            push_address, push_size, counts(1), counts(2), counts(3), submit_flags(timestamps), c_ticket)
        if (status == GPUASYNC_OK .and. present(ticket)) ticket = c_ticket
        call report(status, 'kernel%dispatch', stat, errmsg)
    end subroutine kernel_dispatch

    ! ---- batch ------------------------------------------------------------------------

    !> A copy of `push_bytes` bytes of `push` (any interoperable scalar, array
    !> or `bind(c)` derived type), or a problem: `push` and `push_bytes` must
    !> come together, `push` must be contiguous, the size must fit 32 bits.
    subroutine copy_push_bytes(push, push_bytes, bytes, status, problem)
        type(*), dimension(..), intent(in), target, optional :: push
        integer(c_size_t), intent(in), optional :: push_bytes
        integer(int8), allocatable, intent(out) :: bytes(:)
        integer, intent(out) :: status
        character(len=:), allocatable, intent(out) :: problem
        integer(int8), pointer :: view(:)

        status = GPUASYNC_OK
        allocate (bytes(0))
        if (present(push) .neqv. present(push_bytes)) then
            status = GPUASYNC_INVALID_ARGUMENT
            problem = 'push and push_bytes (c_sizeof(push)) must come together'
            return
        end if
        if (.not. present(push)) return
        if (.not. is_contiguous(push)) then
            status = GPUASYNC_INVALID_ARGUMENT
            problem = 'the push constants are not contiguous'
            return
        end if
        if (push_bytes < 0 .or. push_bytes > int(huge(0_c_int32_t), c_size_t)) then
            status = GPUASYNC_INVALID_ARGUMENT
            problem = 'push_bytes must be from 0 to 2**31-1'
            return
        end if
        if (push_bytes == 0 .or. size(push) == 0) return
        call c_f_pointer(c_loc(push), view, [push_bytes])
        bytes = view
    end subroutine copy_push_bytes

    !> A batch op that runs `kernel` over `groups` workgroups (1 to 3 counts;
    !> missing ones are 1) with `buffers(i)` at binding i-1 and the push block
    !> `push` of `push_bytes` bytes (`c_sizeof(push)`), as `kernel%dispatch`
    !> does. The handles and the push bytes are copied now.
    function gpuasync_dispatch_op(kernel, buffers, groups, push, push_bytes) result(op)
        type(gpuasync_kernel), intent(in) :: kernel
        type(gpuasync_buffer), intent(in) :: buffers(:)
        integer, intent(in) :: groups(:)
        type(*), dimension(..), intent(in), target, optional :: push
        integer(c_size_t), intent(in), optional :: push_bytes
        type(gpuasync_batch_op) :: op
        integer :: i

        op%kind = GPUASYNC_OP_DISPATCH
        op%kernel = kernel%handle
        op%executor = kernel%executor
        allocate (op%bindings(size(buffers)))
        do i = 1, size(buffers)
            op%bindings(i) = buffers(i)%handle
            if (buffers(i)%handle%id == 0) cycle
            if (op%executor%id == 0) op%executor = buffers(i)%executor
            if (buffers(i)%executor%id /= op%executor%id) then
                op%status = GPUASYNC_INVALID_HANDLE
                op%problem = 'a buffer belongs to another executor than the kernel'
            end if
        end do
        if (size(groups) < 1 .or. size(groups) > 3) then
            op%status = GPUASYNC_INVALID_ARGUMENT
            op%problem = 'groups must hold 1 to 3 workgroup counts'
            return
        end if
        op%groups(1:size(groups)) = int(groups, c_int32_t)
        if (op%status /= GPUASYNC_OK) return
        call copy_push_bytes(push, push_bytes, op%push, op%status, op%problem)
    end function gpuasync_dispatch_op

    !> A batch op that copies `size_bytes` bytes of `source` (at
    !> `source_offset_bytes`) into `destination` (at `offset_bytes`), as
    !> `destination%copy_from` does.
    function gpuasync_copy_op(destination, source, size_bytes, offset_bytes, source_offset_bytes) result(op)
        type(gpuasync_buffer), intent(in) :: destination, source
        integer(int64), intent(in) :: size_bytes
        integer(int64), intent(in), optional :: offset_bytes, source_offset_bytes
        type(gpuasync_batch_op) :: op

        op%kind = GPUASYNC_OP_COPY
        op%buffer = destination%handle
        op%src = source%handle
        op%size = size_bytes
        if (present(offset_bytes)) op%offset = offset_bytes
        if (present(source_offset_bytes)) op%src_offset = source_offset_bytes
        op%executor = destination%executor
        if (op%executor%id == 0) op%executor = source%executor
        if (destination%handle%id /= 0 .and. source%handle%id /= 0 .and. &
                destination%executor%id /= source%executor%id) then
            op%status = GPUASYNC_INVALID_HANDLE
            op%problem = 'the source and destination buffers belong to different executors'
        end if
    end function gpuasync_copy_op

    !> A batch op that fills `size_bytes` bytes (default: the whole buffer) of
    !> `buffer` at `offset_bytes` with the 32-bit pattern `value`, as
    !> `buffer%fill` does; multiples of 4.
    function gpuasync_fill_op(buffer, value, offset_bytes, size_bytes) result(op)
        type(gpuasync_buffer), intent(in) :: buffer
        integer(int32), intent(in) :: value
        integer(int64), intent(in), optional :: offset_bytes, size_bytes
        type(gpuasync_batch_op) :: op

        op%kind = GPUASYNC_OP_FILL
        op%buffer = buffer%handle
        op%executor = buffer%executor
        op%fill_value = value
        op%size = GPUASYNC_WHOLE_SIZE
        if (present(offset_bytes)) op%offset = offset_bytes
        if (present(size_bytes)) op%size = size_bytes
    end function gpuasync_fill_op

    !> New push constants `push` (`push_bytes` bytes: `c_sizeof(push)`) for op
    !> number `op` (counting from 1) of a batch, a dispatch. The bytes are
    !> copied now. Behind the generic `gpuasync_push_update`.
    function push_update_new(op, push, push_bytes) result(update)
        integer, intent(in) :: op
        type(*), dimension(..), intent(in), target :: push
        integer(c_size_t), intent(in) :: push_bytes
        type(gpuasync_push_update) :: update

        update%op = op
        call copy_push_bytes(push, push_bytes, update%bytes, update%status, update%problem)
        if (update%status == GPUASYNC_OK .and. op < 1) then
            update%status = GPUASYNC_INVALID_ARGUMENT
            update%problem = 'op numbers count from 1'
        end if
    end function push_update_new

    !> The text of a number, for messages.
    pure function number_text(n) result(text)
        integer, intent(in) :: n
        character(len=:), allocatable :: text
        character(len=24) :: buffer

        write (buffer, '(i0)') n
        text = trim(buffer)
    end function number_text

    !> The C library's last message, with a note when it may count ops from 0.
    function batch_message() result(message)
        character(len=:), allocatable :: message

        message = gpuasync_last_message()
        if (index(message, 'op ') > 0) message = message // &
            ' (the C library counts ops from 0: its op k is Fortran op k+1)'
    end function batch_message

    !> Whether a batch variable refers to a live batch. There is no query
    !> function, so it asks for a replay with an update of op 2**32-1, which the
    !> library refuses (`GPUASYNC_INVALID_ARGUMENT`, nothing replayed) for a live
    !> batch and with `GPUASYNC_INVALID_HANDLE` for any other.
    logical function batch_is_live(batch) result(live)
        type(gpuasync_batch), intent(in) :: batch
        type(c_gpuasync_push_update) :: probe(1)
        integer(c_int64_t) :: ticket
        integer :: status

        live = .false.
        if (batch%handle%id == 0) return
        probe(1)%op_index = -1
        status = gpuasync_batch_replay(batch%executor, batch%handle, probe, 1_c_size_t, 0_c_int32_t, ticket)
        live = status == GPUASYNC_INVALID_ARGUMENT .or. status == GPUASYNC_OK
    end function batch_is_live

    !> Record `ops` (made by `gpuasync_dispatch_op`, `gpuasync_copy_op`,
    !> `gpuasync_fill_op`; op number k is `ops(k)`) into a batch owned by
    !> `executor`. Buffers and kernels are checked now, as a submission's are;
    !> the ops' push constants are the first replay's.
    subroutine batch_create(self, executor, ops, stat, errmsg)
        class(gpuasync_batch), intent(inout) :: self
        type(gpuasync_executor), intent(in) :: executor
        type(gpuasync_batch_op), intent(in), target :: ops(:)
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_op), allocatable :: c_ops(:)
        type(c_gpuasync_batch) :: handle
        integer :: i, status

        if (batch_is_live(self)) then
            call report(GPUASYNC_INVALID_ARGUMENT, 'batch%create', stat, errmsg, &
                'this batch variable already holds a live batch; destroy it first')
            return
        end if
        if (.not. executor_check(executor, 'batch%create', stat, errmsg)) return
        allocate (c_ops(max(1, size(ops))))
        do i = 1, size(ops)
            if (ops(i)%kind == 0) then
                call report(GPUASYNC_INVALID_ARGUMENT, 'batch%create', stat, errmsg, 'op ' // number_text(i) // &
                    ' was not made by gpuasync_dispatch_op, gpuasync_copy_op or gpuasync_fill_op')
                return
            end if
            if (ops(i)%status /= GPUASYNC_OK) then
                call report(ops(i)%status, 'batch%create', stat, errmsg, 'op ' // number_text(i) // ': ' // &
                    ops(i)%problem)
                return
            end if
            if (ops(i)%executor%id /= 0 .and. ops(i)%executor%id /= executor%handle%id) then
                call report(GPUASYNC_INVALID_HANDLE, 'batch%create', stat, errmsg, 'op ' // number_text(i) // &
                    ': its buffers or kernel belong to another executor')
                return
            end if
            c_ops(i)%kind = ops(i)%kind
            c_ops(i)%buffer = ops(i)%buffer
            c_ops(i)%offset = ops(i)%offset
            c_ops(i)%size = ops(i)%size
            c_ops(i)%src = ops(i)%src
            c_ops(i)%src_offset = ops(i)%src_offset
            c_ops(i)%fill_value = ops(i)%fill_value
            c_ops(i)%groups = ops(i)%groups
            c_ops(i)%kernel = ops(i)%kernel
            if (allocated(ops(i)%bindings)) then
                c_ops(i)%binding_count = int(size(ops(i)%bindings), c_int32_t)
                if (size(ops(i)%bindings) > 0) c_ops(i)%bindings = c_loc(ops(i)%bindings)
            end if
            if (allocated(ops(i)%push)) then
                c_ops(i)%push_constant_size = int(size(ops(i)%push), c_int32_t)
                if (size(ops(i)%push) > 0) c_ops(i)%push_constants = c_loc(ops(i)%push)
            end if
        end do
        status = gpuasync_batch_create(executor%handle, c_ops, int(size(ops), c_size_t), handle)
        if (status == GPUASYNC_OK) then
            self%executor = executor%handle
            self%handle = handle
            call report(status, 'batch%create', stat, errmsg)
        else
            call report(status, 'batch%create', stat, errmsg, batch_message())
        end if
    end subroutine batch_create

    !> Report an uncreated batch; true when the handle is set.
    logical function batch_check(self, procedure_name, stat, errmsg) result(ok)
        class(gpuasync_batch), intent(in) :: self
        character(len=*), intent(in) :: procedure_name
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg

        ok = self%handle%id /= 0
        if (.not. ok) call report(GPUASYNC_INVALID_HANDLE, procedure_name, stat, errmsg, &
            'the batch is not created (or was destroyed)')
    end function batch_check

    !> Replay the batch as one submission, ordered after all earlier work,
    !> after applying `updates` (each `gpuasync_push_update(op, push,
    !> push_bytes)`, op counting from 1); updates stay for later replays.
    !> Returns at once; `ticket` completes when the replay has run. One replay
    !> of a batch is in flight at a time: a replay while the previous one runs
    !> waits for it, or, with `no_block=.true.`, replays nothing and reports
    !> `GPUASYNC_WOULD_BLOCK` (with `submitted` present: `submitted=.false.`
    !> and no error).
    subroutine batch_replay(self, updates, ticket, timestamps, no_block, submitted, stat, errmsg)
        class(gpuasync_batch), intent(in) :: self
        type(gpuasync_push_update), intent(in), target, optional :: updates(:)
        integer(int64), intent(out), optional :: ticket
        logical, intent(in), optional :: timestamps, no_block
        logical, intent(out), optional :: submitted
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_gpuasync_push_update), allocatable :: c_updates(:)
        integer(c_int32_t) :: flags
        integer(c_int64_t) :: c_ticket
        integer :: i, n, status

        if (present(ticket)) ticket = 0
        if (present(submitted)) submitted = .false.
        if (.not. batch_check(self, 'batch%replay', stat, errmsg)) return
        n = 0
        if (present(updates)) n = size(updates)
        allocate (c_updates(max(1, n)))
        do i = 1, n
            if (updates(i)%status /= GPUASYNC_OK .or. .not. allocated(updates(i)%bytes)) then
                if (allocated(updates(i)%problem)) then
                    call report(updates(i)%status, 'batch%replay', stat, errmsg, 'update ' // number_text(i) // &
                        ': ' // updates(i)%problem)
                else
                    call report(GPUASYNC_INVALID_ARGUMENT, 'batch%replay', stat, errmsg, 'update ' // &
                        number_text(i) // ' was not made by gpuasync_push_update(op, push, push_bytes)')
                end if
                return
            end if
            c_updates(i)%op_index = int(updates(i)%op - 1, c_int32_t)
            c_updates(i)%size = int(size(updates(i)%bytes), c_int32_t)
            if (size(updates(i)%bytes) > 0) c_updates(i)%data = c_loc(updates(i)%bytes)
        end do
        flags = submit_flags(timestamps)
        if (present(no_block)) then
            if (no_block) flags = ior(flags, int(GPUASYNC_SUBMIT_NO_BLOCK, c_int32_t))
        end if
        status = gpuasync_batch_replay(self%executor, self%handle, c_updates, int(n, c_size_t), flags, c_ticket)
        if (status == GPUASYNC_OK) then
            if (present(ticket)) ticket = c_ticket
            if (present(submitted)) submitted = .true.
            call report(status, 'batch%replay', stat, errmsg)
        else if (status == GPUASYNC_WOULD_BLOCK .and. present(submitted)) then
            call report(GPUASYNC_OK, 'batch%replay', stat, errmsg)
        else
            call report(status, 'batch%replay', stat, errmsg, batch_message())
        end if
    end subroutine batch_replay

    !> Free the batch. A replay in flight still completes; this variable (not
    !> its copies) becomes uncreated.
    subroutine batch_destroy(self, stat, errmsg)
        class(gpuasync_batch), intent(inout) :: self
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: status

        if (.not. batch_check(self, 'batch%destroy', stat, errmsg)) return
        status = gpuasync_batch_destroy(self%executor, self%handle)
        if (status == GPUASYNC_OK) then
            self%handle = c_gpuasync_batch()
            self%executor = c_gpuasync_executor()
        end if
        call report(status, 'batch%destroy', stat, errmsg)
    end subroutine batch_destroy

    !> Whether this variable holds a batch (created, not destroyed through it).
    pure logical function batch_is_created(self)
        class(gpuasync_batch), intent(in) :: self

        batch_is_created = self%handle%id /= 0
    end function batch_is_created

    ! ---- generated: one specific per kind and rank ---------------------------------

    include 'gpuasync_specifics.inc'

end module gpuasync
